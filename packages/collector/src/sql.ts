/**
 * The SQL both stores share, written once with `?` placeholders (the
 * PostgreSQL store numbers them), and the mapping from rows to results.
 * Only what SQLite and PostgreSQL both understand: `ON CONFLICT`, `CASE`,
 * `CAST`, no dialect functions. Numbers from PostgreSQL come as strings
 * (BIGINT, SUM); {@link num} reads both.
 */
import { LATENCY_BUCKETS_MS, type CheckedReport, type ReportEvent } from "./report.js";
import type { DeviceStateCount, FleetFilter, FleetStatus, ReleaseFigures, StageStatus } from "./store.js";

export interface Statement {
  readonly text: string;
  readonly params: readonly unknown[];
}

export type Row = Record<string, unknown>;

export function num(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string") return Number(value);
  return 0;
}

function optionalNum(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : num(value);
}

export const EVENT_COLUMNS = [
  "device", "report_id", "seq", "device_class", "model", "channel", "time", "event", "version", "from_version", "stage", "percent", "outcome", "bytes", "duration_ms", "load_ms", "latency_ms", "reason", "retryable", "retry_in_ms",
] as const;

/** PostgreSQL types of {@link EVENT_COLUMNS}, for parameters outside a plain VALUES list. */
export const EVENT_PG_TYPES = [
  "text", "text", "integer", "text", "text", "text", "text", "text", "text", "text", "integer", "float8", "text", "bigint", "float8", "float8", "float8", "text", "smallint", "float8",
] as const;

export const LATENCY_COLUMNS = ["device", "report_id", "bucket", "model", "channel", "release", "device_class", "count"] as const;
export const LATENCY_PG_TYPES = ["text", "text", "integer", "text", "text", "text", "text", "bigint"] as const;

export const DEVICE_COLUMNS = ["device", "device_class", "model", "channel", "state", "state_version", "state_time", "active_version", "active_time", "last_report_at"] as const;

function placeholders(columns: number, rows: number): string {
  const one = `(${new Array<string>(columns).fill("?").join(", ")})`;
  return new Array<string>(rows).fill(one).join(", ");
}

/** Rows of `?::type` placeholders, for a VALUES list whose types PostgreSQL cannot infer. */
export function typedPlaceholders(types: readonly string[], rows: number): string {
  const one = `(${types.map((type) => `?::${type}`).join(", ")})`;
  return new Array<string>(rows).fill(one).join(", ");
}

/** The report's own row; `ON CONFLICT DO NOTHING` makes a retry a no-op, and the caller compares digests. */
export function insertReportStatement(report: CheckedReport, receivedAt: Date): Statement {
  const f = report.figures;
  return {
    text: `INSERT INTO reports (device, id, device_class, model, channel, sent_at, received_at, digest, event_count, release, load_ms, inferences, errors, memory_bytes)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device, id) DO NOTHING`,
    params: [
      report.device, report.id, report.deviceClass, report.model, report.channel, report.sentAt, receivedAt.toISOString(), report.digest, report.events.length,
      f?.release ?? null, f?.loadMs ?? null, f?.inferences ?? null, f?.errors ?? null, f?.memoryBytes ?? null,
    ],
  };
}

export function reportDigestStatement(device: string, id: string): Statement {
  return { text: "SELECT digest FROM reports WHERE device = ? AND id = ?", params: [device, id] };
}

function eventValues(report: CheckedReport, event: ReportEvent, seq: number): unknown[] {
  return [
    report.device, report.id, seq, report.deviceClass, report.model, report.channel, event.time, event.event, event.version ?? null, event.from ?? null, event.stage ?? null, event.percent ?? null,
    event.outcome ?? null, event.bytes ?? null, event.durationMs ?? null, event.loadMs ?? null, event.latencyMs ?? null, event.reason ?? null,
    event.retryable === undefined ? null : event.retryable ? 1 : 0, event.retryInMs ?? null,
  ];
}

/** One multi-row INSERT of the report's events (none when it has none). */
export function insertEventsStatement(report: CheckedReport): Statement | undefined {
  if (report.events.length === 0) return undefined;
  return {
    text: `INSERT INTO report_events (${EVENT_COLUMNS.join(", ")}) VALUES ${placeholders(EVENT_COLUMNS.length, report.events.length)}`,
    params: report.events.flatMap((event, seq) => eventValues(report, event, seq)),
  };
}

/** The figures' histogram, one row per non-empty bucket. */
export function latencyRows(report: CheckedReport): unknown[][] {
  const f = report.figures;
  if (!f) return [];
  return f.latencyCounts.flatMap((count, bucket) => (count > 0 ? [[report.device, report.id, bucket, report.model, report.channel, f.release, report.deviceClass, count]] : []));
}

export function insertLatencyStatement(report: CheckedReport): Statement | undefined {
  const rows = latencyRows(report);
  if (rows.length === 0) return undefined;
  return { text: `INSERT INTO report_latency (${LATENCY_COLUMNS.join(", ")}) VALUES ${placeholders(LATENCY_COLUMNS.length, rows.length)}`, params: rows.flat() };
}

/**
 * What the device runs, as its events reveal it: `active` → the version,
 * `rolled-back` → the version it went back to, `checking` and an up-to-date
 * `idle` → the version they name. Undefined when no event says.
 */
function activeVersionOf(events: readonly ReportEvent[]): { version: string | null; time: string } | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (!e) continue;
    if (e.event === "active") return { version: e.version ?? null, time: e.time };
    if (e.event === "rolled-back") return { version: e.from ?? null, time: e.time };
    if (e.event === "checking") return { version: e.version ?? null, time: e.time };
    if (e.event === "idle" && e.outcome === "up-to-date") return { version: e.version ?? null, time: e.time };
  }
  return undefined;
}

const newer = (column: string): string => `excluded.${column} IS NOT NULL AND (devices.${column} IS NULL OR excluded.${column} >= devices.${column})`;

/**
 * The device's row: its latest transition and the version it runs, each
 * replaced only by a later one (reports may arrive out of order).
 */
export function upsertDeviceStatement(report: CheckedReport, receivedAt: Date): Statement {
  const upsert = deviceUpsert(report, receivedAt);
  return { text: `INSERT INTO devices (${DEVICE_COLUMNS.join(", ")}) VALUES ${placeholders(DEVICE_COLUMNS.length, 1)} ${upsert.onConflict}`, params: upsert.params };
}

/** The device row's values (in {@link DEVICE_COLUMNS} order) and the `ON CONFLICT` clause that merges them. */
export function deviceUpsert(report: CheckedReport, receivedAt: Date): { params: unknown[]; onConflict: string } {
  const sorted = [...report.events].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  const last = sorted[sorted.length - 1];
  const active = activeVersionOf(sorted);
  return {
    onConflict: `ON CONFLICT (device) DO UPDATE SET
             device_class = excluded.device_class,
             model = excluded.model,
             channel = excluded.channel,
             state = CASE WHEN ${newer("state_time")} THEN excluded.state ELSE devices.state END,
             state_version = CASE WHEN ${newer("state_time")} THEN excluded.state_version ELSE devices.state_version END,
             state_time = CASE WHEN ${newer("state_time")} THEN excluded.state_time ELSE devices.state_time END,
             active_version = CASE WHEN ${newer("active_time")} THEN excluded.active_version ELSE devices.active_version END,
             active_time = CASE WHEN ${newer("active_time")} THEN excluded.active_time ELSE devices.active_time END,
             last_report_at = CASE WHEN excluded.last_report_at > devices.last_report_at THEN excluded.last_report_at ELSE devices.last_report_at END`,
    params: [
      report.device, report.deviceClass, report.model, report.channel, last?.event ?? null, last?.version ?? null, last?.time ?? null, active?.version ?? null, active?.time ?? null, receivedAt.toISOString(),
    ],
  };
}

function where(filter: FleetFilter, releaseColumn: string): { clause: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: string | undefined): void => {
    if (value === undefined) return;
    parts.push(clause);
    params.push(value);
  };
  add("model = ?", filter.model);
  add("channel = ?", filter.channel);
  add(`${releaseColumn} = ?`, filter.release);
  return { clause: parts.map((p) => ` AND ${p}`).join(""), params };
}

const TAKE_UP_EVENTS = ["downloading", "verifying", "installing", "health-checking", "active", "rolled-back", "failed"];

/** Per release, stage and device class: each device once, in the highest stage it acted in. */
export function stageStatusStatement(filter: FleetFilter): Statement {
  const w = where(filter, "version");
  return {
    text: `WITH per_device AS (
             SELECT model, channel, version AS release, device_class, device,
                    MAX(stage) AS stage,
                    MAX(CASE WHEN event = 'active' THEN 1 ELSE 0 END) AS updated,
                    MAX(CASE WHEN event = 'rolled-back' THEN 1 ELSE 0 END) AS rolled_back,
                    MAX(CASE WHEN event = 'failed' AND retryable = 0 THEN 1 ELSE 0 END) AS failed,
                    SUM(CASE WHEN event = 'failed' THEN 1 ELSE 0 END) AS failure_events
             FROM report_events
             WHERE version IS NOT NULL AND event IN (${TAKE_UP_EVENTS.map(() => "?").join(", ")})${w.clause}
             GROUP BY model, channel, version, device_class, device
           )
           SELECT p.model, p.channel, p.release, p.stage, p.device_class,
                  COUNT(*) AS targeted,
                  SUM(p.updated) AS updated,
                  SUM(CASE WHEN p.updated = 1 AND d.active_version = p.release THEN 1 ELSE 0 END) AS healthy,
                  SUM(p.rolled_back) AS rolled_back,
                  SUM(CASE WHEN p.failed = 1 AND p.rolled_back = 0 THEN 1 ELSE 0 END) AS failed,
                  SUM(p.failure_events) AS failure_events
           FROM per_device p LEFT JOIN devices d ON d.device = p.device
           GROUP BY p.model, p.channel, p.release, p.stage, p.device_class`,
    params: [...TAKE_UP_EVENTS, ...w.params],
  };
}

export function figuresStatement(filter: FleetFilter): Statement {
  const w = where(filter, "release");
  return {
    text: `SELECT model, channel, release, device_class,
                  COUNT(DISTINCT device) AS devices, COUNT(*) AS reports,
                  SUM(inferences) AS inferences, SUM(errors) AS errors,
                  MAX(load_ms) AS load_ms_max, AVG(load_ms) AS load_ms_mean, MAX(memory_bytes) AS memory_bytes_max
           FROM reports WHERE release IS NOT NULL${w.clause}
           GROUP BY model, channel, release, device_class`,
    params: w.params,
  };
}

export function latencyStatement(filter: FleetFilter): Statement {
  const w = where(filter, "release");
  return {
    text: `SELECT model, channel, release, device_class, bucket, SUM(count) AS count
           FROM report_latency WHERE 1 = 1${w.clause}
           GROUP BY model, channel, release, device_class, bucket`,
    params: w.params,
  };
}

export const DEVICE_STATES_SQL = `SELECT model, channel, COALESCE(active_version, '') AS release, COALESCE(state, 'unknown') AS state, COUNT(*) AS devices
  FROM devices GROUP BY model, channel, COALESCE(active_version, ''), COALESCE(state, 'unknown')`;

export const COUNTS_SQL = `SELECT (SELECT COUNT(*) FROM reports) AS reports, (SELECT COUNT(*) FROM report_events) AS events,
  (SELECT COUNT(*) FROM devices) AS devices, (SELECT COUNT(*) FROM device_tokens) AS tokens`;

const key = (row: Row): string => [row.model, row.channel, row.release, row.device_class].map(String).join("\u0000");

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The three result sets as one {@link FleetStatus}, sorted by model, channel, release, stage and class. */
export function fleetStatusFromRows(stageRows: readonly Row[], figureRows: readonly Row[], latencyRows: readonly Row[]): FleetStatus {
  const stages: StageStatus[] = stageRows.map((row) => ({
    model: String(row.model),
    channel: String(row.channel),
    release: String(row.release),
    stage: row.stage === null || row.stage === undefined ? null : num(row.stage),
    deviceClass: String(row.device_class),
    targeted: num(row.targeted),
    updated: num(row.updated),
    healthy: num(row.healthy),
    rolledBack: num(row.rolled_back),
    failed: num(row.failed),
    failureEvents: num(row.failure_events),
  }));
  stages.sort((a, b) => compareText(a.model, b.model) || compareText(a.channel, b.channel) || compareText(a.release, b.release) || (a.stage ?? -1) - (b.stage ?? -1) || compareText(a.deviceClass, b.deviceClass));

  const histograms = new Map<string, number[]>();
  for (const row of latencyRows) {
    const k = key(row);
    const counts = histograms.get(k) ?? new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
    const bucket = num(row.bucket);
    counts[bucket] = (counts[bucket] ?? 0) + num(row.count);
    histograms.set(k, counts);
  }
  const figures: ReleaseFigures[] = figureRows.map((row) => {
    const loadMax = optionalNum(row.load_ms_max);
    const loadMean = optionalNum(row.load_ms_mean);
    const memory = optionalNum(row.memory_bytes_max);
    return {
      model: String(row.model),
      channel: String(row.channel),
      release: String(row.release),
      deviceClass: String(row.device_class),
      devices: num(row.devices),
      reports: num(row.reports),
      inferences: num(row.inferences),
      errors: num(row.errors),
      latencyCounts: histograms.get(key(row)) ?? new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
      ...(loadMax !== undefined ? { loadMsMax: loadMax } : {}),
      ...(loadMean !== undefined ? { loadMsMean: loadMean } : {}),
      ...(memory !== undefined ? { memoryBytesMax: memory } : {}),
    };
  });
  figures.sort((a, b) => compareText(a.model, b.model) || compareText(a.channel, b.channel) || compareText(a.release, b.release) || compareText(a.deviceClass, b.deviceClass));
  return { stages, figures };
}

export function deviceStatesFromRows(rows: readonly Row[]): DeviceStateCount[] {
  return rows
    .map((row) => ({ model: String(row.model), channel: String(row.channel), release: String(row.release), state: String(row.state), devices: num(row.devices) }))
    .sort((a, b) => compareText(a.model, b.model) || compareText(a.channel, b.channel) || compareText(a.release, b.release) || compareText(a.state, b.state));
}
