/**
 * The verdict file a gate run leaves behind (`slmops-verdict.json`): the
 * verdict, the commit and pull request it is about. A fork's run uploads it as
 * an artifact; the `workflow_run` follow-up reads it back. That follow-up runs
 * with a write token on content an untrusted run produced, so reading is
 * bounded, schema-checked and cross-checked, and nothing in it is executed.
 */
import { worstOutcome, type CheckOutcome, type Verdict } from "@slmops/gate";
import { ConfigurationError } from "@slmops/diagnostics";
import { Ajv } from "ajv";
import { VERDICT_FILE_SCHEMA } from "./verdict-schema.js";

/** The file name inside the output directory and the artifact. */
export const VERDICT_FILE_NAME = "slmops-verdict.json";
/** The rendered report beside it (for people; the follow-up renders its own). */
export const REPORT_FILE_NAME = "slmops-report.md";
/** Largest verdict file read back (bytes). */
export const MAX_VERDICT_FILE_BYTES = 4 * 1024 * 1024;
export const VERDICT_FORMAT = "slmops-gate-verdict";
export const VERDICT_FORMAT_VERSION = 1;

export interface VerdictFile {
  readonly format: typeof VERDICT_FORMAT;
  readonly version: typeof VERDICT_FORMAT_VERSION;
  /** `owner/name` of the repository the run belongs to. */
  readonly repository: string;
  /** The pull request, or null for a run that is not about one. */
  readonly pullRequest: number | null;
  /** The commit the verdict is about. */
  readonly headSha: string;
  readonly verdict: Verdict;
}

/** The file's text: JSON, stable key order as the verdict has it. */
export function serializeVerdictFile(file: VerdictFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

let validator: ReturnType<Ajv["compile"]> | undefined;
function validate(value: unknown): readonly string[] {
  validator ??= new Ajv({ allErrors: false, strict: true }).compile(VERDICT_FILE_SCHEMA);
  if (validator(value)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || "(the file)"} ${e.message ?? "is invalid"}`);
}

function countOutcomes(outcomes: readonly CheckOutcome[]): Record<CheckOutcome, number> {
  const counts: Record<CheckOutcome, number> = { pass: 0, fail: 0, inconclusive: 0 };
  for (const o of outcomes) counts[o] += 1;
  return counts;
}

/**
 * Reads an untrusted verdict file: size-bounded, strict UTF-8 JSON, valid
 * against the schema, and internally consistent (the overall outcome and the
 * counts are what its checks give; each pair's checks are among the checks).
 * Anything else throws a `ConfigurationError` naming `where`.
 */
export function parseVerdictFile(bytes: Uint8Array, where: string): VerdictFile {
  if (bytes.byteLength > MAX_VERDICT_FILE_BYTES) {
    throw new ConfigurationError(`${where} is ${bytes.byteLength} bytes, more than the ${MAX_VERDICT_FILE_BYTES} accepted; it was not written by slmops' gate.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new ConfigurationError(`${where} is not valid JSON (${(error as Error).message}); the artifact is damaged or was not written by slmops' gate.`, { cause: error });
  }
  const problems = validate(value);
  if (problems.length > 0) throw new ConfigurationError(`${where} is not a verdict file slmops' gate writes: ${problems.join("; ")}.`);
  const file = value as VerdictFile;
  const { verdict } = file;
  const changed = "the file was changed after the gate wrote it";
  for (const pair of verdict.pairs) {
    const fromChecks = worstOutcome(pair.checks.map((c) => c.outcome));
    if (pair.outcome !== fromChecks) throw new ConfigurationError(`${where}: ${pair.device} · ${pair.variant} says "${pair.outcome}" but its checks give "${fromChecks}"; ${changed}.`);
  }
  const overall = worstOutcome(verdict.pairs.map((p) => p.outcome));
  if (verdict.outcome !== overall) throw new ConfigurationError(`${where}: the verdict says "${verdict.outcome}" but its device results give "${overall}"; ${changed}.`);
  const listed = verdict.pairs.reduce((n, p) => n + p.checks.length, 0);
  if (verdict.checks.length !== listed) throw new ConfigurationError(`${where}: the verdict lists ${verdict.checks.length} checks but its device results hold ${listed}; ${changed}.`);
  const counts = countOutcomes(verdict.checks.map((c) => c.outcome));
  for (const o of ["pass", "fail", "inconclusive"] as const) {
    if (verdict.counts[o] !== counts[o]) throw new ConfigurationError(`${where}: the verdict counts ${verdict.counts[o]} ${o} but lists ${counts[o]}; ${changed}.`);
  }
  return file;
}
