/**
 * The wire format of a device report (`POST /v1/reports`), checked against
 * `schemas/collector-report.schema.json` and then for what a schema cannot
 * say: every event belongs to the report's device, class, model and channel;
 * times parse; the latency counts add up to the inferences. A report that
 * passes is {@link CheckedReport}: normalized times and a digest of its
 * content, so a retry can be told from a different report under the same id.
 */
import { createHash } from "node:crypto";
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import { LATENCY_BUCKETS_MS } from "@slmops/latency-histogram";
import schema from "@slmops/schemas/collector-report.schema.json" with { type: "json" };

/** The agent events a report carries (the fields of @slmops/agent's EVENT_FIELDS). */
export const REPORT_EVENTS = ["checking", "downloading", "verifying", "installing", "health-checking", "active", "rolled-back", "failed", "idle"] as const;
export type ReportEventName = (typeof REPORT_EVENTS)[number];

/** The histogram's bucket upper bounds in milliseconds, fixed by the format and shared by every device. */
export { LATENCY_BUCKETS_MS };

/** At most this many events in one report. */
export const MAX_EVENTS_PER_REPORT: number = schema.properties.events.maxItems;

export interface ReportEvent {
  readonly time: string;
  readonly event: ReportEventName;
  readonly device: string;
  readonly deviceClass: string;
  readonly model: string;
  readonly channel: string;
  readonly version?: string;
  readonly from?: string;
  readonly stage?: number;
  readonly percent?: number;
  readonly outcome?: "up-to-date" | "not-in-stage" | "halted" | "no-rollout" | "failed-here" | "no-variant";
  readonly bytes?: number;
  readonly durationMs?: number;
  readonly loadMs?: number;
  readonly latencyMs?: number;
  readonly reason?: string;
  readonly retryable?: boolean;
  readonly retryInMs?: number;
}

export interface ReportFigures {
  readonly release: string;
  readonly loadMs?: number;
  readonly latencyBucketsMs: readonly number[];
  readonly latencyCounts: readonly number[];
  readonly inferences: number;
  readonly errors: number;
  readonly memoryBytes?: number;
}

export interface CollectorReport {
  readonly id: string;
  readonly device: string;
  readonly deviceClass: string;
  readonly model: string;
  readonly channel: string;
  readonly sentAt: string;
  readonly events: readonly ReportEvent[];
  readonly figures?: ReportFigures;
}

/** A report that passed every check: times as `toISOString()`, the id in lower case, and its content digest. */
export interface CheckedReport extends CollectorReport {
  /** sha256 (hex) of the report's canonical JSON: equal for a retry, different for other content. */
  readonly digest: string;
}

/** One thing wrong with a report, at a JSON pointer inside it. */
export interface ReportProblem {
  readonly pointer: string;
  readonly message: string;
}

export type ReportCheck = { readonly ok: true; readonly report: CheckedReport } | { readonly ok: false; readonly problems: readonly ReportProblem[] };

let validator: ReturnType<Ajv2020["compile"]> | undefined;

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties":
      return `${JSON.stringify(params.additionalProperty)} is not a field of a report (reports carry states, versions, sizes, durations and counts only)`;
    case "required":
      return `the required field ${JSON.stringify(params.missingProperty)} is missing`;
    case "const":
      return `must be exactly ${JSON.stringify(params.allowedValue)}`;
    case "enum":
      return `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    default:
      return error.message ?? error.keyword;
  }
}

/** The problems the JSON Schema finds, one per pointer and keyword, at most 20. */
function schemaProblems(value: unknown): ReportProblem[] {
  validator ??= new Ajv2020({ strict: true, allErrors: true }).compile(schema);
  if (validator(value)) return [];
  const seen = new Set<string>();
  const problems: ReportProblem[] = [];
  for (const error of validator.errors ?? []) {
    const message = describe(error);
    const key = `${error.instancePath} ${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ pointer: error.instancePath || "/", message });
    if (problems.length === 20) break;
  }
  return problems;
}

function normalizeTime(text: string, pointer: string, problems: ReportProblem[]): string {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    problems.push({ pointer, message: `${JSON.stringify(text)} is not a valid date and time` });
    return text;
  }
  return new Date(ms).toISOString();
}

/** JSON with object keys sorted, so that equal content has equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Checks a parsed JSON value as a report. */
export function checkReport(value: unknown): ReportCheck {
  const problems = schemaProblems(value);
  if (problems.length > 0) return { ok: false, problems };
  const report = value as CollectorReport;
  const sentAt = normalizeTime(report.sentAt, "/sentAt", problems);
  const events = report.events.map((event, index) => {
    for (const field of ["device", "deviceClass", "model", "channel"] as const) {
      if (event[field] !== report[field]) {
        problems.push({ pointer: `/events/${index}/${field}`, message: `is ${JSON.stringify(event[field])}, but the report is of ${field} ${JSON.stringify(report[field])}` });
      }
    }
    return { ...event, time: normalizeTime(event.time, `/events/${index}/time`, problems) };
  });
  const figures = report.figures;
  if (figures) {
    const total = figures.latencyCounts.reduce((sum, count) => sum + count, 0);
    if (total !== figures.inferences) {
      problems.push({ pointer: "/figures/inferences", message: `is ${figures.inferences}, but the latency counts add up to ${total}` });
    }
    if (figures.errors > figures.inferences) {
      problems.push({ pointer: "/figures/errors", message: `is ${figures.errors}, more than the ${figures.inferences} inferences` });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  const normalized: CollectorReport = { ...report, id: report.id.toLowerCase(), sentAt, events };
  const digest = createHash("sha256").update(canonicalJson(normalized)).digest("hex");
  return { ok: true, report: { ...normalized, digest } };
}
