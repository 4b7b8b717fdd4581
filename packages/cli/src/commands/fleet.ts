import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigurationError, terminalText } from "@slmops/diagnostics";
import type { FleetStatus, ReleaseFigures, StageStatus } from "@slmops/collector";
import type { RepositoryState } from "@slmops/edge-release";
import type { Command, CommandContext } from "../command.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { stringOption } from "../options.js";
import { databaseOf, databaseOption, openCollectorDatabase } from "./collector.js";

/** The interval's confidence, and z for it (the standard normal's 97.5th percentile). */
export const CONFIDENCE = 0.95;
const Z_95 = 1.959963984540054;

export interface Interval {
  readonly low: number;
  readonly high: number;
}

/**
 * The Wilson score interval of a binomial proportion: `failures` out of
 * `n`, at 95% confidence. Unlike the normal approximation it stays inside
 * [0, 1] and is meaningful for few devices and for 0 or n failures, which is
 * where a rollout's first stage lives. Undefined for n = 0.
 */
export function wilsonInterval(failures: number, n: number, z: number = Z_95): Interval | undefined {
  if (!(n > 0)) return undefined;
  const p = failures / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  return { low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

/**
 * The failure rate of a take-up, counted as `release promote`'s abort rule
 * counts it (@slmops/collector's rolloutDecision, after AWS IoT Jobs' abort
 * criteria): devices that rolled the release back (its health check failed)
 * or failed for good, among the devices it targeted (that started taking it
 * up). A device still downloading counts as not failed (yet).
 */
export function failureRate(counts: { readonly targeted: number; readonly rolledBack: number; readonly failed: number }): {
  readonly failures: number;
  readonly rate: number | null;
  readonly interval: Interval | null;
} {
  const failures = counts.rolledBack + counts.failed;
  return { failures, rate: counts.targeted > 0 ? failures / counts.targeted : null, interval: wilsonInterval(failures, counts.targeted) ?? null };
}

export const fleetCommand: Command = {
  name: "fleet",
  summary: "what the fleet reports (fleet status): take-up, failure rate and field latency per release, stage and device class",
  description:
    "fleet status reads the collector's database (see `slmops collector`) and prints, per release, rollout\n" +
    "stage and device class: the devices targeted (they started taking the release up), updated (it became\n" +
    "active), healthy (updated and still running it), rolled back (its health check failed) and failed (for\n" +
    "good); the failure rate — rolled back or failed among the devices targeted, as `release promote`'s\n" +
    `abort rule counts it — with its ${CONFIDENCE * 100}% Wilson score interval; and, per release and device class, the\n` +
    "field figures devices reported: inferences, errors, latency p50/p90/p99 read off the devices' merged\n" +
    "fixed-bucket histogram, load time and peak memory. With --repo, beside them the bench figures the\n" +
    "release passed (its gate verdict, from the release repository's signed target metadata). Stages are\n" +
    "counted from 1, as `release status` prints them (`stage` in --json is the rollout state's 0-based index).",
  positionals: [{ name: "action", description: "status" }],
  options: {
    database: databaseOption,
    release: { type: "string", valueName: "version", description: "only this release" },
    model: { type: "string", valueName: "id", description: "only this model" },
    channel: { type: "string", valueName: "name", description: "only this channel" },
    repo: { type: "string", valueName: "dir", description: "the release repository, for the bench figures each release passed (default: field figures only)" },
    json: { type: "boolean", description: "print the result as JSON on stdout" },
  },
  examples: ["slmops fleet status", "slmops fleet status --release 1.3.0 --repo release", "slmops fleet status --json --database postgres://collector@db.internal/slmops"],
  run: runFleet,
};

/** The gate's figures one device class of a release passed, from the signed target metadata. */
export interface BenchFigures {
  readonly outcome: string;
  readonly figures: Readonly<Record<string, number>>;
}

export interface StageRow extends StageStatus {
  readonly failures: number;
  readonly failureRate: number | null;
  readonly failureRateInterval: Interval | null;
  /** The stage's share of devices, from the release's rollout plan (with --repo). */
  readonly percent?: number;
}

export interface ReleaseRow {
  readonly model: string;
  readonly channel: string;
  readonly release: string;
  readonly targeted: number;
  readonly updated: number;
  readonly healthy: number;
  readonly rolledBack: number;
  readonly failed: number;
  readonly failures: number;
  readonly failureRate: number | null;
  readonly failureRateInterval: Interval | null;
}

export interface Quantile {
  readonly ms: number;
  /** The quantile lies past the histogram's last bound: `ms` is a lower limit. */
  readonly atLeast?: boolean;
}

export interface FiguresRow extends Omit<ReleaseFigures, "latencyCounts"> {
  readonly latencyCounts: readonly number[];
  readonly latencyMs: { readonly p50: Quantile; readonly p90: Quantile; readonly p99: Quantile } | null;
  readonly errorRate: number | null;
  readonly bench?: BenchFigures;
}

export interface FleetReport {
  readonly database: string;
  readonly failureRate: { readonly definition: string; readonly interval: string; readonly confidence: number };
  readonly latencyBucketsMs: readonly number[];
  readonly stages: readonly StageRow[];
  readonly releases: readonly ReleaseRow[];
  readonly figures: readonly FiguresRow[];
  /** Whether bench figures were read (--repo). */
  readonly bench: boolean;
}

async function runFleet(context: CommandContext): Promise<number> {
  const action = context.positionals[0];
  if (action !== "status") throw new UsageError(`Unknown fleet action \`${terminalText(action ?? "")}\`.`, { command: "fleet", hint: "use `slmops fleet status`." });
  const release = stringOption(context, "release", "fleet");
  const model = stringOption(context, "model", "fleet");
  const channel = stringOption(context, "channel", "fleet");
  const repoGiven = stringOption(context, "repo", "fleet");
  // The repository first: a wrong --repo fails before the database is opened.
  const repository = repoGiven === undefined ? undefined : await readRepository(resolve(context.io.cwd, repoGiven), repoGiven);
  const { given: databaseGiven, database } = databaseOf(context, "fleet");
  if (!/^postgres(ql)?:\/\//i.test(database) && !existsSync(database)) {
    throw new ConfigurationError(
      `there is no collector database at ${terminalText(databaseGiven)}: fleet status reads what \`slmops collector serve\` stored. Pass --database with the file (or postgres:// URL) the collector uses`,
    );
  }
  const { store, given } = await openCollectorDatabase(context, "fleet");
  let status: FleetStatus;
  try {
    status = await store.fleetStatus({ ...(release ? { release } : {}), ...(model ? { model } : {}), ...(channel ? { channel } : {}) });
  } finally {
    await store.close();
  }
  const { LATENCY_BUCKETS_MS } = await import("@slmops/collector");
  const report = fleetReport(status, given, LATENCY_BUCKETS_MS, repository);
  if (context.values.json === true) {
    context.io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return ExitCode.ok;
  }
  context.io.stdout.write(formatFleetReport(report, { release, repoGiven }));
  return ExitCode.ok;
}

// ---------------------------------------------------------------- the release repository

interface RepositoryFigures {
  readonly bench: ReadonlyMap<string, BenchFigures>;
  readonly stagePercents: ReadonlyMap<string, readonly number[]>;
}

const releaseKey = (channel: string, model: string, version: string): string => `${channel}\u0000${model}\u0000${version}`;
const classKey = (channel: string, model: string, version: string, deviceClass: string): string => `${releaseKey(channel, model, version)}\u0000${deviceClass}`;

async function readRepository(dir: string, given: string): Promise<RepositoryFigures> {
  const edge = await import("@slmops/edge-release");
  let state: RepositoryState;
  try {
    state = await edge.loadRepository(dir);
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    throw new ConfigurationError(
      `cannot read the release repository ${terminalText(given)}: ${error instanceof Error ? error.message : String(error)}\n  hint: --repo names the directory \`slmops release build\` wrote (with metadata/ and targets/); leave it out to print field figures only`,
      { cause: error },
    );
  }
  return benchFiguresOf(state);
}

/** A figure as the signed metadata carries it: integers as numbers, other numbers as their decimal strings. */
function figure(value: unknown): number | undefined {
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

export function benchFiguresOf(state: RepositoryState): RepositoryFigures {
  const bench = new Map<string, BenchFigures>();
  const stagePercents = new Map<string, number[]>();
  for (const target of Object.values(state.targets.signed.targets)) {
    const c = (target.custom ?? {}) as Record<string, unknown>;
    const [channel, model, version, deviceClass] = [c["channel"], c["model"], c["version"], c["deviceClass"]];
    if (typeof channel !== "string" || typeof model !== "string" || typeof version !== "string" || typeof deviceClass !== "string") continue;
    const plan = c["rolloutPlan"] as { stages?: { percent?: unknown }[] } | undefined;
    if (Array.isArray(plan?.stages)) stagePercents.set(releaseKey(channel, model, version), plan.stages.map((s) => figure(s.percent) ?? Number.NaN));
    const verdict = c["verdict"] as { outcome?: unknown; figures?: unknown } | undefined;
    const key = classKey(channel, model, version, deviceClass);
    if (!verdict || bench.has(key)) continue;
    const figures: Record<string, number> = {};
    if (verdict.figures && typeof verdict.figures === "object") {
      for (const [metric, value] of Object.entries(verdict.figures as Record<string, unknown>)) {
        const n = figure(value);
        if (n !== undefined) Object.defineProperty(figures, metric, { value: n, enumerable: true });
      }
    }
    bench.set(key, { outcome: typeof verdict.outcome === "string" ? verdict.outcome : "unknown", figures });
  }
  return { bench, stagePercents };
}

// ---------------------------------------------------------------- the report

/** The q-quantile of a merged histogram, flagged when it lies in the overflow bucket (past the last bound). */
function quantile(q: number, counts: readonly number[], bounds: readonly number[]): Quantile | undefined {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i] ?? 0;
    if (count > 0 && cumulative + count >= rank) {
      if (i >= bounds.length) return { ms: bounds[bounds.length - 1] ?? 0, atLeast: true };
      const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
      const upper = bounds[i] ?? lower;
      return { ms: lower + (upper - lower) * ((rank - cumulative) / count) };
    }
    cumulative += count;
  }
  return { ms: bounds[bounds.length - 1] ?? 0, atLeast: true };
}

export function fleetReport(status: FleetStatus, database: string, bounds: readonly number[], repository?: RepositoryFigures): FleetReport {
  const stages: StageRow[] = status.stages.map((s) => {
    const rate = failureRate(s);
    const percent = s.stage === null ? undefined : repository?.stagePercents.get(releaseKey(s.channel, s.model, s.release))?.[s.stage];
    return { ...s, failures: rate.failures, failureRate: rate.rate, failureRateInterval: rate.interval, ...(percent !== undefined && Number.isFinite(percent) ? { percent } : {}) };
  });
  const releases = new Map<string, ReleaseRow>();
  for (const s of stages) {
    const key = releaseKey(s.channel, s.model, s.release);
    const sum = releases.get(key) ?? { model: s.model, channel: s.channel, release: s.release, targeted: 0, updated: 0, healthy: 0, rolledBack: 0, failed: 0, failures: 0, failureRate: null, failureRateInterval: null };
    const next = { ...sum, targeted: sum.targeted + s.targeted, updated: sum.updated + s.updated, healthy: sum.healthy + s.healthy, rolledBack: sum.rolledBack + s.rolledBack, failed: sum.failed + s.failed };
    const rate = failureRate(next);
    releases.set(key, { ...next, failures: rate.failures, failureRate: rate.rate, failureRateInterval: rate.interval });
  }
  const figures: FiguresRow[] = status.figures.map((f) => {
    const p50 = quantile(0.5, f.latencyCounts, bounds);
    const p90 = quantile(0.9, f.latencyCounts, bounds);
    const p99 = quantile(0.99, f.latencyCounts, bounds);
    const bench = repository?.bench.get(classKey(f.channel, f.model, f.release, f.deviceClass));
    return {
      ...f,
      latencyMs: p50 && p90 && p99 ? { p50, p90, p99 } : null,
      errorRate: f.inferences > 0 ? f.errors / f.inferences : null,
      ...(bench ? { bench } : {}),
    };
  });
  return {
    database,
    failureRate: {
      definition: "(rolled back + failed) / targeted (devices that started taking the release up), as release promote's abort rule counts it",
      interval: "Wilson score",
      confidence: CONFIDENCE,
    },
    latencyBucketsMs: bounds,
    stages,
    releases: [...releases.values()],
    figures,
    bench: repository !== undefined,
  };
}

// ---------------------------------------------------------------- text

function percent(x: number): string {
  const p = x * 100;
  return `${p === 0 || p === 100 || p >= 10 ? p.toFixed(1) : p.toPrecision(2)}%`;
}

function rateText(rate: number | null, interval: Interval | null): string {
  if (rate === null || interval === null) return "—";
  return `${percent(rate)} [${percent(interval.low)}, ${percent(interval.high)}]`;
}

function ms(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(value >= 10_000 ? 1 : 2)} s` : `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ms`;
}

function quantileText(q: Quantile): string {
  return `${q.atLeast ? "≥" : ""}${ms(q.ms)}`;
}

function bytes(value: number): string {
  const mib = value / (1024 * 1024);
  return mib >= 1024 ? `${(mib / 1024).toFixed(2)} GiB` : `${mib.toFixed(mib >= 100 ? 0 : 1)} MiB`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    `  ${cells
      .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd()}`;
  return [line(header), ...rows.map(line)];
}

export function formatFleetReport(report: FleetReport, options: { release?: string; repoGiven?: string } = {}): string {
  const out: string[] = [];
  out.push(`Fleet status from ${terminalText(report.database)}.`);
  if (report.stages.length === 0 && report.figures.length === 0) {
    out.push(
      options.release
        ? `No device has reported release ${terminalText(options.release)} yet.`
        : "No device has reported yet: each agent configured with `collector:` (url and token-file) reports after every check.",
    );
    return `${out.join("\n")}\n`;
  }
  out.push(
    `Failure rate: devices that rolled back or failed for good, among those targeted (as release promote's abort rule counts it); [low, high] is its ${report.failureRate.confidence * 100}% Wilson score interval.`,
  );
  const groups = new Map<string, { model: string; channel: string }>();
  for (const row of [...report.stages, ...report.figures]) groups.set(`${row.model}\u0000${row.channel}`, { model: row.model, channel: row.channel });
  for (const { model, channel } of groups.values()) {
    out.push("", `${terminalText(model)} on ${terminalText(channel)}`);
    const stages = report.stages.filter((s) => s.model === model && s.channel === channel);
    if (stages.length > 0) {
      const rows = stages.map((s) => [
        terminalText(s.release),
        s.stage === null ? "?" : `${s.stage + 1}${s.percent !== undefined ? ` (${s.percent}%)` : ""}`,
        terminalText(s.deviceClass),
        String(s.targeted),
        String(s.updated),
        String(s.healthy),
        String(s.rolledBack),
        String(s.failed),
        rateText(s.failureRate, s.failureRateInterval),
      ]);
      // A release over several stages or classes also gets its total.
      for (const r of report.releases.filter((x) => x.model === model && x.channel === channel)) {
        if (stages.filter((s) => s.release === r.release).length < 2) continue;
        const at = rows.map((row) => row[0]).lastIndexOf(terminalText(r.release));
        rows.splice(at + 1, 0, [terminalText(r.release), "all", "all", String(r.targeted), String(r.updated), String(r.healthy), String(r.rolledBack), String(r.failed), rateText(r.failureRate, r.failureRateInterval)]);
      }
      out.push(...table(["release", "stage", "class", "targeted", "updated", "healthy", "rolled back", "failed", "failure rate [95% CI]"], rows, new Set([3, 4, 5, 6, 7])));
    }
    const figures = report.figures.filter((f) => f.model === model && f.channel === channel);
    if (figures.length > 0) {
      out.push("", `  field figures${report.bench ? ", with the bench figures each release passed (its gate verdict)" : ""}:`);
      for (const f of figures) {
        out.push(
          `  ${terminalText(f.release)} on ${terminalText(f.deviceClass)}: ${f.devices} device${f.devices === 1 ? "" : "s"}, ${f.reports} report${f.reports === 1 ? "" : "s"}, ${f.inferences} inference${f.inferences === 1 ? "" : "s"}, ${f.errors} error${f.errors === 1 ? "" : "s"}${f.errorRate === null ? "" : ` (${percent(f.errorRate)})`}`,
        );
        const b = f.bench?.figures;
        const benchLatency = b && ["latency-p50", "latency-p90", "latency-p99"].some((m) => b[m] !== undefined) ? (["latency-p50", "latency-p90", "latency-p99"] as const).map((m) => (b[m] === undefined ? "—" : ms(b[m]))) : undefined;
        out.push(
          `    latency  ${f.latencyMs ? `p50 ${quantileText(f.latencyMs.p50)}  p90 ${quantileText(f.latencyMs.p90)}  p99 ${quantileText(f.latencyMs.p99)}  (field, merged histogram)` : "no inferences reported"}`,
        );
        if (report.bench) {
          if (!f.bench) out.push("    bench    the release repository has no verdict for this device class");
          else if (benchLatency) out.push(`    bench    p50 ${benchLatency[0]}  p90 ${benchLatency[1]}  p99 ${benchLatency[2]}  (gate ${terminalText(f.bench.outcome)})`);
          else out.push(`    bench    no latency figures in the verdict (gate ${terminalText(f.bench.outcome)})`);
        }
        const parts: string[] = [];
        if (f.loadMsMean !== undefined) parts.push(`load ${ms(f.loadMsMean)} mean, ${ms(f.loadMsMax ?? f.loadMsMean)} max${b?.["load-time"] !== undefined ? ` (bench ${ms(b["load-time"])})` : ""}`);
        if (f.memoryBytesMax !== undefined) parts.push(`peak memory ${bytes(f.memoryBytesMax)}${b?.["peak-memory"] !== undefined ? ` (bench ${bytes(b["peak-memory"])})` : ""}`);
        if (parts.length > 0) out.push(`    ${parts.join("; ")}`);
      }
    } else {
      out.push("", "  no field figures reported yet (devices send them with their reports)");
    }
  }
  if (!report.bench) out.push("", "Bench figures: pass --repo <release repository> to see the figures each release passed beside the field's.");
  return `${out.join("\n")}\n`;
}
