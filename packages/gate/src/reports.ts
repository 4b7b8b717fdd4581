/**
 * Device results from bench reports (`schemas/bench-report.schema.json`): one
 * report per device, read and validated by `@slmops/bench`, then checked for
 * consistency — each headline figure must be exactly what the report's own
 * data gives (see `cross-check.ts`), so a report edited after it was written
 * is refused.
 */
import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { readReport, validateReport, type BenchReport, type VariantResultJson } from "@slmops/bench/report";
import { isSourceResult } from "@slmops/bench/versus-source";
import { ConfigurationError } from "@slmops/diagnostics";
import type { Fingerprint } from "./fingerprint.js";
import type { MetricsRecord } from "./limits.js";
import type { SampleSeries } from "./metrics.js";
import { crossCheckResult, REPORT_SERIES } from "./cross-check.js";
import type { DeviceResult, ReportedFailure } from "./verdict.js";

/** Most report files read from one directory tree. */
export const MAX_REPORT_FILES = 1000;
/** Deepest directory level searched for reports. */
const MAX_DEPTH = 4;

export interface DeviceReports {
  readonly results: readonly DeviceResult[];
  readonly failures: readonly ReportedFailure[];
  /** The report files read, and the device each was for. */
  readonly files: readonly { readonly file: string; readonly device: string }[];
  /** The reports that passed the cross-check, validated, in the order of `files` (for a report's context: fp32 rows, spread, run rules). */
  readonly reports: readonly BenchReport[];
}

/** What a measurement depends on besides the model: the device's fingerprint and the session settings. */
export function comparableFingerprint(report: BenchReport): Fingerprint {
  const f = report.device.fingerprint;
  return {
    "cpu-model": f["cpu-model"],
    "cpu-flags": f["cpu-flags"],
    "logical-cores": f["logical-cores"],
    "physical-cores": f["physical-cores"],
    "memory-bytes": f["memory-bytes"],
    os: f.os,
    "os-release": f["os-release"],
    arch: f.arch,
    "onnxruntime-version": f["onnxruntime-version"],
    "execution-providers": f["execution-providers"],
    "cpu-governor": f["cpu-governor"],
    session: {
      "execution-providers": report.device.session["execution-providers"],
      "intra-op-threads": report.device.session["intra-op-threads"],
      "inter-op-threads": report.device.session["inter-op-threads"],
      "graph-optimization-level": report.device.session["graph-optimization-level"],
    },
  };
}

/** Raw sample series of a result under the names gates use. */
function samplesOf(result: VariantResultJson): Partial<Record<SampleSeries, readonly number[]>> {
  const s = result.samples ?? {};
  const out: Partial<Record<SampleSeries, readonly number[]>> = {};
  for (const [name, series] of Object.entries(REPORT_SERIES) as [keyof typeof REPORT_SERIES, keyof typeof s][]) {
    if (s[series]?.length) out[name] = s[series];
  }
  // Per-token throughput; its median is (up to one rank) 1000 / the median decode latency.
  if (out["decode-latency"]) out["tokens-per-second"] = out["decode-latency"].map((ms) => 1000 / ms);
  return out;
}

/** Most problems named when a report is refused; the rest are counted. */
const MAX_PROBLEMS_SHOWN = 3;

/** Why a report's figures cannot be trusted, or undefined when every successful result's figures are what its data gives. */
function refusal(report: BenchReport, where: string): string | undefined {
  const problems = report.results.flatMap((r) => (r.status === "ok" ? crossCheckResult(r).map((p) => `${r.model}/${r.variant}: ${p}`) : []));
  if (problems.length === 0) return undefined;
  const more = problems.length > MAX_PROBLEMS_SHOWN ? ` (and ${problems.length - MAX_PROBLEMS_SHOWN} more)` : "";
  return `${where}: ${problems.slice(0, MAX_PROBLEMS_SHOWN).join("; ")}${more}; the report was changed after the benchmark wrote it`;
}

/**
 * The device results and failures in one validated report. A report whose
 * figures disagree with its own data is refused as a whole — once one figure
 * was changed, none of its figures can be trusted — and each of its variants
 * becomes a refused failure for the device.
 */
export function resultsFromReport(report: BenchReport, where: string): { results: DeviceResult[]; failures: ReportedFailure[]; refused?: true } {
  const device = report.device.id;
  const fingerprint = comparableFingerprint(report);
  const results: DeviceResult[] = [];
  const failures: ReportedFailure[] = [];
  const seen = new Set<string>();
  for (const result of report.results) {
    const variant = `${result.model}/${result.variant}`;
    if (seen.has(variant)) throw new ConfigurationError(`${where}: variant ${variant} appears twice in the report of device "${device}"`);
    seen.add(variant);
  }
  const refused = refusal(report, where);
  // The fp32 source's row is cross-checked with the rest (above) but is not a variant: it is never gated.
  const variants = report.results.filter((r) => !isSourceResult(r));
  if (refused) return { results, failures: variants.map((r) => ({ device, variant: `${r.model}/${r.variant}`, message: refused, refused: true })), refused: true };
  for (const result of variants) {
    const variant = `${result.model}/${result.variant}`;
    if (result.status === "failed") {
      failures.push({ device, variant, message: result.failure ? `${result.failure.kind}: ${result.failure.message}` : "the benchmark failed" });
      continue;
    }
    const digest = result["model-sha256"];
    results.push({ device, variant, fingerprint, metrics: { ...result.metrics } as MetricsRecord, samples: samplesOf(result), ...(digest ? { modelSha256: digest } : {}) });
  }
  return { results, failures };
}

async function findJsonFiles(dir: string, depth: number, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new ConfigurationError(`cannot read the reports directory ${dir}: ${(error as Error).message}`, { cause: error });
  }
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && depth < MAX_DEPTH) await findJsonFiles(path, depth + 1, out);
    else if (entry.isFile() && entry.name.endsWith(".json")) {
      out.push(path);
      if (out.length > MAX_REPORT_FILES) throw new ConfigurationError(`${dir} holds more than ${MAX_REPORT_FILES} JSON files; point slmops at the directory of the run's reports`);
    }
  }
}

function merge(parts: readonly { file: string; report: BenchReport }[], label: string): DeviceReports {
  const results: DeviceResult[] = [];
  const failures: ReportedFailure[] = [];
  const files: { file: string; device: string }[] = [];
  const reports: BenchReport[] = [];
  const byDevice = new Map<string, string>();
  for (const { file, report } of parts) {
    const device = report.device.id;
    const other = byDevice.get(device);
    if (other) throw new ConfigurationError(`${label}: two reports for device "${device}" (${other} and ${file}); keep one report per device`);
    byDevice.set(device, file);
    const part = resultsFromReport(report, file);
    results.push(...part.results);
    failures.push(...part.failures);
    files.push({ file, device });
    // A refused report (its figures do not match its samples) gives no context either: nothing of it is shown as measured.
    if (part.refused !== true) reports.push(report);
  }
  return { results, failures, files, reports };
}

/** Every bench report (`*.json`) under a directory, validated and checked. */
export async function loadReportsDirectory(dir: string, display: string = dir): Promise<DeviceReports> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new ConfigurationError(`${display}: no such directory. Pass the directory the benchmark wrote its reports to.`);
  const paths: string[] = [];
  await findJsonFiles(dir, 0, paths);
  const parts: { file: string; report: BenchReport }[] = [];
  for (const path of paths) {
    const shown = join(display, relative(dir, path)).split(sep).join("/");
    try {
      parts.push({ file: shown, report: await readReport(path) });
    } catch (error) {
      if (error instanceof ConfigurationError) throw new ConfigurationError(error.message.split(path).join(shown), { cause: error });
      throw error;
    }
  }
  return merge(parts, display);
}

/** Bench reports from in-memory files (e.g. a downloaded artifact), validated and checked. */
export function loadReportsFromFiles(files: ReadonlyMap<string, Uint8Array>, label: string): DeviceReports {
  const parts: { file: string; report: BenchReport }[] = [];
  for (const [name, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!name.endsWith(".json")) continue;
    const where = `${label}: ${name}`;
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch (error) {
      throw new ConfigurationError(`${where}: not valid JSON (${(error as Error).message}); the file is damaged or not a bench report`, { cause: error });
    }
    parts.push({ file: where, report: validateReport(value, where) });
  }
  return merge(parts, label);
}
