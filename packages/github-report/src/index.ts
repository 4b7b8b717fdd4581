/**
 * The verdict on the pull request: the Markdown report, one comment updated in
 * place on every push, a check run whose annotations point at the failing
 * gates in `slmops.yaml`, and the base branch's baseline reports, all through
 * octokit.
 */
export { createGitHubClient, GitHubApiError, githubCall, type ClientOptions, type GitHubClient, type RepositoryRef } from "./client.js";
export { MAX_COMMENT_LENGTH, REPORT_MARKER, upsertReportComment, withMarker, type UpsertCommentOptions, type UpsertCommentResult } from "./comment.js";
export {
  ANNOTATIONS_PER_REQUEST,
  batchAnnotations,
  diagnosticToAnnotation,
  fitText,
  MAX_OUTPUT_LENGTH,
  publishCheckRun,
  type CheckAnnotation,
  type CheckConclusion,
  type PublishCheckRunOptions,
  type PublishCheckRunResult,
} from "./check-run.js";
export { findBaseline, type BaselineResult, type BaselineRun, type FindBaselineOptions } from "./baseline.js";
export { baselineFromGitHub } from "./baseline-input.js";
export { isSafeEntryName, unzipArtifact, type UnzipLimits } from "./unzip.js";
export { columnLabel, DEFAULT_COLUMNS, HEADLINE, KEY_METRICS, metricCellParts, metricColumns, OUTCOME_ICON, rawFigures, renderChart, renderReport, type MetricCellParts, type RenderOptions } from "./render.js";
export { codeBlockText, escapeMarkdown } from "./markdown-text.js";
export {
  chartOf,
  chartScale,
  deltaText,
  deviceContexts,
  spreadText,
  type Chart,
  type ChartBar,
  type ContextRow,
  type DeviceContext,
  type ReportContext,
} from "./report-context.js";
export { checkConclusion, verdictAnnotations } from "./verdict-output.js";
export { publishVerdict, type PublishVerdictOptions, type PublishVerdictResult } from "./publish.js";
