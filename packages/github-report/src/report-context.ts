/**
 * What a report shows besides the verdict, in one place for the Markdown and
 * the HTML report: each device's fingerprint and run rules, every row of its
 * bench report (the fp32 source first) with latency spread, iteration counts
 * and ratios to fp32, deltas to the baseline worded by the metric's
 * direction, and the charts (titled for what they show, value axis from 0).
 * Plain text here; each renderer escapes it for its format.
 */
import type { BenchReport, VariantResultJson } from "@slmops/bench/report";
import {
  isSourceResult,
  latencySpread,
  ratiosToSource,
  sourceResultOf,
  speedMetric,
  THROUGHPUT_DEFINITION,
  TOKENS_PER_SECOND_DEFINITION,
  type SourceRatio,
  type Spread,
} from "@slmops/bench/versus-source";
import { formatChange, formatMetricValue, isMetricName, METRICS, type Verdict } from "@slmops/gate";

/** The bench reports behind a verdict, for the context around it. */
export interface ReportContext {
  readonly reports: readonly BenchReport[];
}

/** A change against the baseline as `+4.2%, worse`, by the metric's direction; undefined without a usable baseline. */
export function deltaText(metric: string, value: number, base: number | null | undefined): string | undefined {
  if (typeof base !== "number" || base === 0 || !Number.isFinite(base)) return undefined;
  const change = value / base - 1;
  const shown = formatChange(change);
  if (!isMetricName(metric) || !Number.isFinite(change)) return shown;
  if (Number(Math.abs(change * 100).toFixed(2)) === 0) return `${shown}, unchanged`;
  const better = METRICS[metric].direction === "lower-is-better" ? change < 0 : change > 0;
  return `${shown}, ${better ? "better" : "worse"}`;
}

export interface ContextRow {
  readonly label: string;
  readonly source: boolean;
  readonly status: "ok" | "failed";
  readonly failure?: string;
  readonly iterations?: number;
  readonly warmup?: number;
  readonly elapsedMs?: number;
  readonly spread?: Spread;
  /** What the spread is of. */
  readonly spreadOf?: string;
  readonly perSecond?: { readonly value: number; readonly definition: string };
  readonly ratios: readonly SourceRatio[];
  readonly result: VariantResultJson;
}

export interface DeviceContext {
  readonly device: string;
  /** CPU, cores, memory, OS, ONNX Runtime and providers, in one line. */
  readonly fingerprint: string;
  /** Warm-up, minimum iterations and duration, prompt and generated tokens. */
  readonly runRules: string;
  readonly rows: readonly ContextRow[];
}

function ms(value: number): string {
  return formatMetricValue("latency-p50", value);
}

function fingerprintLine(report: BenchReport): string {
  const f = report.device.fingerprint;
  const s = report.device.session;
  const cores = `${f["logical-cores"]} logical${f["physical-cores"] !== null ? ` / ${f["physical-cores"]} physical` : ""} cores`;
  const threads = s["intra-op-threads"] === 0 ? "ONNX Runtime's choice of threads" : `${s["intra-op-threads"]} intra-op threads`;
  return (
    `${f["cpu-model"]}, ${cores}, ${formatMetricValue("peak-memory", f["memory-bytes"])} memory, ${f.os} ${f["os-release"]} (${f.arch}), ` +
    `ONNX Runtime ${f["onnxruntime-version"]}, providers ${s["execution-providers"].join(", ")} (available: ${f["execution-providers"].join(", ")}), ${threads}` +
    (f["cpu-governor"] !== null ? `, governor ${f["cpu-governor"]}` : "")
  );
}

function runRulesLine(report: BenchReport): string {
  const s = report.settings;
  return (
    `${s.warmup} warm-up iterations, then at least ${s["min-iterations"]} timed iterations and at least ${ms(s["min-duration-ms"])} ` +
    `(cap ${s["max-iterations"]}); decoders: ${s["prompt-tokens"]}-token prompt, ${s["generate-tokens"]} generated tokens per iteration, seed ${s.seed}`
  );
}

function row(report: BenchReport, r: VariantResultJson): ContextRow {
  const source = isSourceResult(r);
  const fp32 = sourceResultOf(report, r.model);
  const ratios = !source && fp32 && r.status === "ok" ? ratiosToSource(r.metrics, fp32.metrics) : {};
  const spread = latencySpread(r);
  const decoder = speedMetric(r.metrics) === "decode-latency-p50";
  const perSecond = decoder
    ? r.metrics["tokens-per-second"] !== undefined ? { value: r.metrics["tokens-per-second"], definition: TOKENS_PER_SECOND_DEFINITION } : undefined
    : r.metrics.throughput !== undefined ? { value: r.metrics.throughput, definition: THROUGHPUT_DEFINITION } : undefined;
  return {
    label: source ? `${r.model}/fp32 (source)` : `${r.model}/${r.variant}`,
    source,
    status: r.status,
    ...(r.failure ? { failure: `${r.failure.kind}: ${r.failure.message}` } : {}),
    ...(r.run ? { iterations: r.run.iterations, warmup: r.run.warmup, elapsedMs: r.run["elapsed-ms"] } : {}),
    ...(spread ? { spread, spreadOf: decoder ? "per-token decode latency" : "per-run latency" } : {}),
    ...(perSecond ? { perSecond } : {}),
    ratios: [ratios.speed, ratios.size, ratios.memory].filter((x): x is SourceRatio => x !== undefined),
    result: r,
  };
}

/** Each device's context, in the order of the reports. */
export function deviceContexts(context: ReportContext | undefined): DeviceContext[] {
  return (context?.reports ?? []).map((report) => ({
    device: report.device.id,
    fingerprint: fingerprintLine(report),
    runRules: runRulesLine(report),
    rows: report.results.map((r) => row(report, r)),
  }));
}

/** A spread as `p10–p90 41.0–47.3 ms over 3,200 samples`. */
export function spreadText(spread: Spread): string {
  return `p10–p90 ${ms(spread.p10)}–${ms(spread.p90)}, ${spread.count} samples`;
}

export interface ChartBar {
  readonly label: string;
  /** In the chart's unit. */
  readonly value: number;
  /** The value as people read it, for the bar's tooltip. */
  readonly text: string;
  readonly source: boolean;
  readonly baseline?: number;
}

export interface Chart {
  readonly metric: string;
  /** What the chart shows, its unit and which way is better. */
  readonly title: string;
  readonly unit: string;
  readonly bars: readonly ChartBar[];
}

/** The chart's unit and how values convert to it. */
export function chartScale(metric: string): { unit: string; scale: number } {
  if (!isMetricName(metric)) return { unit: "value", scale: 1 };
  switch (METRICS[metric].unit) {
    case "bytes":
      return { unit: "MiB", scale: 1 / (1024 * 1024) };
    case "fraction":
      return { unit: "%", scale: 100 };
    default:
      return { unit: METRICS[metric].unit, scale: 1 };
  }
}

const CHART_NAMES: Readonly<Record<string, string>> = {
  "decode-latency-p50": "Decode latency p50",
  "latency-p50": "Latency p50",
  ttft: "Time to first token p50",
  "tokens-per-second": "Decode tokens per second",
  "peak-memory": "Peak memory",
  "model-size": "Model size",
};

/**
 * A bar per (device, variant) of the verdict that reported `metric`, and the
 * device's fp32 source before its variants when the context has it; the
 * baseline per bar when it has one.
 */
export function chartOf(verdict: Verdict, metric: string, context?: ReportContext): Chart | undefined {
  const { unit, scale } = chartScale(metric);
  const bars: ChartBar[] = [];
  const devices = [...new Set(verdict.pairs.map((p) => p.device))];
  for (const device of devices) {
    const report = context?.reports.find((r) => r.device.id === device);
    for (const r of report?.results ?? []) {
      const value = (r.metrics as Record<string, number | undefined>)[metric];
      if (isSourceResult(r) && r.status === "ok" && typeof value === "number") {
        bars.push({ label: `${device} · ${r.model}/fp32 (source)`, value: value * scale, text: formatMetricValue(metric, value), source: true });
      }
    }
    for (const p of verdict.pairs.filter((x) => x.device === device)) {
      const value = p.metrics[metric];
      if (typeof value !== "number") continue;
      const base = p.baselineMetrics?.[metric];
      bars.push({
        label: `${device} · ${p.variant}`,
        value: value * scale,
        text: formatMetricValue(metric, value),
        source: false,
        ...(typeof base === "number" ? { baseline: base * scale } : {}),
      });
    }
  }
  if (bars.length === 0) return undefined;
  const name = CHART_NAMES[metric] ?? (isMetricName(metric) ? METRICS[metric].label : metric);
  const direction = isMetricName(metric) ? (METRICS[metric].direction === "lower-is-better" ? "lower is better" : "higher is better") : "";
  return { metric, title: `${name} per variant (${unit}${direction ? `, ${direction}` : ""})`, unit, bars };
}
