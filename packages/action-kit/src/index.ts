/**
 * The thin layer between GitHub Actions and slmops packages: one `run`
 * wrapper, typed inputs, annotations within GitHub's limits, and job-summary
 * fragments. Nothing here knows about slmops itself.
 */
export { run } from "./run.js";
export {
  readRawInput,
  getInput,
  getStringInput,
  getBooleanInput,
  getPathInput,
  getListInput,
  getJsonInput,
  workspaceDirectory,
  type InputOptions,
  type InputSpec,
  type InputValue,
  type PathInputOptions,
  type PathInput,
} from "./inputs.js";
export {
  annotate,
  annotationProperties,
  workspaceRelativePath,
  ANNOTATION_LIMITS,
  type AnnotateOptions,
  type AnnotateResult,
} from "./annotate.js";
export {
  escapeHtml,
  heading,
  paragraph,
  code,
  table,
  details,
  diagnosticsTable,
  writeSummary,
  SUMMARY_LIMIT_BYTES,
  type Cell,
  type HtmlCell,
  type DiagnosticsTableOptions,
} from "./summary.js";
export { setOutput, setOutputs } from "./outputs.js";
export { assertKebabCase } from "./errors.js";
/** Re-exported so an action can raise a user-facing failure without another import. */
export { ConfigurationError } from "@slmops/diagnostics";
