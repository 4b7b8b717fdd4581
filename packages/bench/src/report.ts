/**
 * The bench report: its types (mirroring `schemas/bench-report.schema.json`),
 * validation against the schema, and reading and writing it. A report is
 * validated every time it is written (atomically) and every time it is read.
 */
import reportSchema from "@slmops/schemas/bench-report.schema.json" with { type: "json" };
import { Ajv2020 } from "ajv/dist/2020.js";
import type { ErrorObject, ValidateFunction } from "ajv";
import { ConfigurationError, SlmopsError } from "@slmops/diagnostics";
import { writeFileAtomic } from "@slmops/atomic-file";
import { readRegularFile } from "@slmops/contained-fs";
import type { Summary } from "./statistics.js";

/** The report format version this package writes and reads. */
export const BENCH_REPORT_SCHEMA_VERSION = 1;

/** Largest report file read (raw samples make reports large, but not this large). */
const MAX_REPORT_BYTES = 256 * 1024 * 1024;

/** A latency summary in a report (milliseconds): the shape `summarize` returns. */
export type SummaryJson = Summary;

export type FailureKind = "crash" | "timeout" | "error" | "configuration";

export interface FailureJson {
  readonly kind: FailureKind;
  readonly message: string;
  readonly "exit-code"?: number | null;
  readonly signal?: string | null;
  readonly stderr?: string;
}

/** Headline figures under the names gates use (ms, bytes, per second, ratios). */
export interface MetricsJson {
  readonly "latency-p50"?: number;
  readonly "latency-p90"?: number;
  readonly "latency-p99"?: number;
  readonly throughput?: number;
  readonly ttft?: number;
  readonly "ttft-p90"?: number;
  readonly "decode-latency-p50"?: number;
  readonly "decode-latency-p90"?: number;
  readonly "decode-latency-p99"?: number;
  readonly "tokens-per-second"?: number;
  readonly "load-time"?: number;
  readonly "load-time-warm"?: number;
  readonly "peak-memory"?: number;
  readonly "model-size"?: number;
  readonly "kl-divergence"?: number;
  readonly "kl-divergence-stderr"?: number;
  readonly "top-1-agreement"?: number;
  readonly perplexity?: number;
}

export interface ContextBucketJson {
  readonly "context-from": number;
  readonly "context-to": number;
  readonly count: number;
  readonly "mean-ms": number;
  readonly "p50-ms": number;
}

export interface AccuracyJson {
  readonly positions: number;
  readonly "kl-divergence": number;
  readonly "kl-divergence-stderr": number;
  readonly "top-1-agreement": number;
  readonly perplexity: number;
  readonly "reference-perplexity": number;
}

export interface VariantResultJson {
  readonly model: string;
  readonly variant: string;
  readonly status: "ok" | "failed";
  readonly failure?: FailureJson;
  readonly kind?: "decoder" | "generic";
  readonly "model-sha256"?: string;
  readonly "model-size-bytes"?: number;
  readonly files?: readonly { readonly name: string; readonly bytes: number }[];
  readonly load?: { readonly "cold-ms": number; readonly "warm-ms": number };
  readonly memory?: { readonly "peak-rss-bytes": number; readonly "baseline-rss-bytes": number; readonly "within-budget"?: boolean };
  readonly run?: { readonly warmup: number; readonly iterations: number; readonly "elapsed-ms": number; readonly "stopped-by": "rules" | "max-iterations" };
  readonly "latency-ms"?: SummaryJson;
  readonly "throughput-per-second"?: number;
  readonly "ttft-ms"?: SummaryJson;
  readonly "decode-latency-ms"?: SummaryJson;
  readonly "tokens-per-second"?: number;
  readonly "decode-latency-by-context"?: { readonly "slope-ms-per-1k-tokens": number; readonly buckets: readonly ContextBucketJson[] };
  readonly accuracy?: AccuracyJson;
  readonly "accuracy-error"?: string;
  readonly samples?: {
    readonly "latency-ms"?: readonly number[];
    readonly "ttft-ms"?: readonly number[];
    readonly "decode-ms"?: readonly number[];
    readonly "decode-context"?: readonly number[];
  };
  readonly metrics: MetricsJson;
}

export interface FingerprintJson {
  readonly "cpu-model": string;
  readonly "cpu-flags": readonly string[];
  readonly "logical-cores": number;
  readonly "physical-cores": number | null;
  readonly "memory-bytes": number;
  readonly os: string;
  readonly "os-release": string;
  readonly arch: string;
  readonly "node-version": string;
  readonly "onnxruntime-version": string;
  readonly "execution-providers": readonly string[];
  readonly "runner-labels": readonly string[];
  readonly "cpu-governor": string | null;
  readonly "cpu-temperature-celsius": number | null;
}

export interface ModelEntryJson {
  readonly id: string;
  readonly "source-sha256": string | null;
  readonly eval?: {
    readonly sha256: string;
    readonly "tokenizer-sha256": string;
    readonly sequences: number;
    readonly tokens: number;
    readonly private: boolean;
  };
  readonly reference?: { readonly status: "computed" | "reused" | "failed"; readonly message?: string };
}

export interface BenchReport {
  readonly "schema-version": typeof BENCH_REPORT_SCHEMA_VERSION;
  readonly "created-at": string;
  readonly device: {
    readonly id: string;
    readonly fingerprint: FingerprintJson;
    readonly session: {
      readonly "execution-providers": readonly string[];
      readonly "intra-op-threads": number;
      readonly "inter-op-threads": number;
      readonly "graph-optimization-level": "disabled" | "basic" | "extended" | "layout" | "all";
    };
    readonly "memory-budget-bytes"?: number;
  };
  readonly settings: {
    readonly warmup: number;
    readonly "min-iterations": number;
    readonly "min-duration-ms": number;
    readonly "max-iterations": number;
    readonly "prompt-tokens": number;
    readonly "generate-tokens": number;
    readonly seed: number;
    readonly "timeout-ms": number;
  };
  readonly models: readonly ModelEntryJson[];
  readonly results: readonly VariantResultJson[];
}

/** A report file that does not hold a valid report of a version this package knows. */
export class InvalidReportError extends ConfigurationError {}

let validator: ValidateFunction | undefined;

/** The bench report JSON Schema, as shipped by `@slmops/schemas`. */
export function benchReportSchema(): object {
  return reportSchema;
}

function validate(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
    validator = ajv.compile(benchReportSchema());
  }
  return validator;
}

function describeErrors(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 10)
    .map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}${e.keyword === "additionalProperties" ? ` (\`${String((e.params as { additionalProperty?: string }).additionalProperty)}\`)` : ""}`)
    .join("; ");
}

let resultValidator: ValidateFunction | undefined;

/**
 * Why one result entry does not match the schema's `results` items, or
 * undefined when it does: lets the harness fail that entry alone.
 */
export function resultProblems(entry: unknown): string | undefined {
  if (!resultValidator) {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
    resultValidator = ajv.compile(reportSchema.properties.results.items);
  }
  return resultValidator(entry) ? undefined : describeErrors(resultValidator.errors);
}

/**
 * Checks a parsed value against the schema. `where` names its origin in
 * messages. Throws InvalidReportError for a wrong schema version or a value
 * that does not match the schema.
 */
export function validateReport(value: unknown, where = "bench report"): BenchReport {
  const version = (value as { "schema-version"?: unknown } | null)?.["schema-version"];
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidReportError(`${where}: not a bench report (expected a JSON object)`);
  }
  if (version !== BENCH_REPORT_SCHEMA_VERSION) {
    throw new InvalidReportError(
      `${where}: bench report schema-version ${JSON.stringify(version)} is not supported (this slmops reads version ${BENCH_REPORT_SCHEMA_VERSION}); ` +
        `produce the report with a matching slmops version`,
    );
  }
  const check = validate();
  if (!check(value)) {
    throw new InvalidReportError(`${where}: not a valid bench report: ${describeErrors(check.errors)}`);
  }
  return value as BenchReport;
}

/** Validates a report and writes it atomically (temp file, fsync, rename) as pretty JSON. */
export async function writeReport(path: string, report: BenchReport): Promise<void> {
  try {
    validateReport(report, "the report about to be written");
  } catch (cause) {
    // A report we built ourselves that fails the schema is our bug, not the user's.
    throw new SlmopsError(`refusing to write an invalid bench report to ${path}: ${(cause as Error).message}`, { cause });
  }
  await writeFileAtomic(path, `${JSON.stringify(report, null, 2)}\n`);
}

/** Reads a report file and validates it against the schema. */
export async function readReport(path: string): Promise<BenchReport> {
  // Bounded before it is read: a FIFO is refused without blocking and the size is checked on the open file.
  const bytes = await readRegularFile(path, { maxBytes: MAX_REPORT_BYTES, what: "bench report" });
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new InvalidReportError(`${path}: not valid JSON (${(cause as Error).message}); the file is damaged or not a bench report`, { cause });
  }
  return validateReport(value, path);
}
