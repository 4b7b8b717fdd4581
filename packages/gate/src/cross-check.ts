/**
 * A bench report's headline `metrics` checked against the data each derives
 * from in the same result — percentiles from the raw samples, peak memory
 * from `memory`, load time from `load`, size from the files, accuracy from
 * `accuracy` — and every sample count against the samples. The gate reads
 * `metrics`; a figure edited there alone (or with its source deleted) would
 * otherwise turn a failure into a pass. Values are compared exactly: the
 * benchmark computes each figure from the data it writes, and JSON keeps a
 * double exactly, so any difference means the report was changed.
 */
import type { MetricsJson, VariantResultJson } from "@slmops/bench/report";
import { METRICS, type MetricName, type SampleSeries } from "./metrics.js";
import { quantile } from "./quantile.js";

type ReportSeries = keyof NonNullable<VariantResultJson["samples"]>;

/**
 * The report's raw series behind each series a metric is a quantile of.
 * Per-token throughput has none of its own: it is derived from decode latency.
 */
export const REPORT_SERIES: Readonly<Record<Exclude<SampleSeries, "tokens-per-second">, ReportSeries>> = Object.freeze({
  latency: "latency-ms",
  ttft: "ttft-ms",
  "decode-latency": "decode-ms",
});

/** What a figure should be, and what it was derived from; or which source is missing. */
type Derived = { readonly value: number; readonly from: string } | { readonly missing: string };
type Derivation = (result: VariantResultJson) => Derived;

function percentile(series: ReportSeries, q: number): Derivation {
  return (result) => {
    const samples = result.samples?.[series];
    if (!samples || samples.length === 0) return { missing: `samples.${series}` };
    return { value: quantile(samples, q), from: `its ${samples.length} ${series} samples give` };
  };
}

/** A percentile metric, by the series and quantile its definition names. */
function percentileMetric(metric: MetricName): Derivation {
  const series = METRICS[metric].series;
  if (!series || series.name === "tokens-per-second") throw new Error(`${metric} is not a percentile of a report series`);
  return percentile(REPORT_SERIES[series.name], series.quantile);
}

function field(path: string, get: (result: VariantResultJson) => number | undefined): Derivation {
  return (result) => {
    const value = get(result);
    return value === undefined ? { missing: path } : { value, from: `${path} is` };
  };
}

/** Samples per second over a total time, as the benchmark computes it (0 for no time). */
function perSecond(count: number, totalMs: number): number {
  return totalMs > 0 ? (count * 1000) / totalMs : 0;
}

/** Every figure a report's `metrics` can hold (the type makes the list complete). */
const DERIVATIONS: Readonly<Record<keyof MetricsJson, Derivation>> = {
  "latency-p50": percentileMetric("latency-p50"),
  "latency-p90": percentileMetric("latency-p90"),
  "latency-p99": percentileMetric("latency-p99"),
  throughput: (r) => {
    const samples = r.samples?.["latency-ms"];
    if (!samples || samples.length === 0) return { missing: "samples.latency-ms" };
    if (!r.run) return { missing: "run" };
    return { value: perSecond(samples.length, r.run["elapsed-ms"]), from: `its ${samples.length} latency-ms samples over run.elapsed-ms give` };
  },
  ttft: percentileMetric("ttft"),
  "ttft-p90": percentile("ttft-ms", 0.9),
  "decode-latency-p50": percentileMetric("decode-latency-p50"),
  "decode-latency-p90": percentileMetric("decode-latency-p90"),
  "decode-latency-p99": percentileMetric("decode-latency-p99"),
  "tokens-per-second": (r) => {
    const samples = r.samples?.["decode-ms"];
    if (!samples || samples.length === 0) return { missing: "samples.decode-ms" };
    return { value: perSecond(samples.length, samples.reduce((a, b) => a + b, 0)), from: `its ${samples.length} decode-ms samples give` };
  },
  "load-time": field("load.cold-ms", (r) => r.load?.["cold-ms"]),
  "load-time-warm": field("load.warm-ms", (r) => r.load?.["warm-ms"]),
  "peak-memory": field("memory.peak-rss-bytes", (r) => r.memory?.["peak-rss-bytes"]),
  "model-size": field("model-size-bytes", (r) => r["model-size-bytes"]),
  "kl-divergence": field("accuracy.kl-divergence", (r) => r.accuracy?.["kl-divergence"]),
  "kl-divergence-stderr": field("accuracy.kl-divergence-stderr", (r) => r.accuracy?.["kl-divergence-stderr"]),
  "top-1-agreement": field("accuracy.top-1-agreement", (r) => r.accuracy?.["top-1-agreement"]),
  perplexity: field("accuracy.perplexity", (r) => r.accuracy?.perplexity),
};

/** Each count the report states, against the samples (or files) it counts. */
function countProblems(r: VariantResultJson): string[] {
  const problems: string[] = [];
  const length = (series: ReportSeries) => r.samples?.[series]?.length ?? 0;
  const summaries = [
    ["latency-ms", "latency-ms"],
    ["ttft-ms", "ttft-ms"],
    ["decode-latency-ms", "decode-ms"],
  ] as const;
  for (const [summary, series] of summaries) {
    const count = r[summary]?.count;
    if (count !== undefined && count !== length(series)) problems.push(`${summary}.count is ${count} but there are ${length(series)} ${series} samples`);
  }
  if (r.samples?.["decode-context"] !== undefined && length("decode-context") !== length("decode-ms")) {
    problems.push(`there are ${length("decode-context")} decode-context entries for ${length("decode-ms")} decode-ms samples`);
  }
  const buckets = r["decode-latency-by-context"]?.buckets;
  if (buckets) {
    const inBuckets = buckets.reduce((a, b) => a + b.count, 0);
    if (inBuckets !== length("decode-ms")) problems.push(`decode-latency-by-context counts ${inBuckets} decode steps but there are ${length("decode-ms")} decode-ms samples`);
  }
  if (r.run) {
    // One timed iteration is one inference (latency-ms) or one generation (ttft-ms).
    const series = r.samples?.["latency-ms"] !== undefined ? "latency-ms" : "ttft-ms";
    if (r.run.iterations !== length(series)) problems.push(`run.iterations is ${r.run.iterations} but there are ${length(series)} ${series} samples`);
  }
  const size = r["model-size-bytes"];
  if (r.files && size !== undefined) {
    const total = r.files.reduce((a, f) => a + f.bytes, 0);
    if (total !== size) problems.push(`model-size-bytes is ${size} but its files add up to ${total} bytes`);
  }
  return problems;
}

/**
 * Why a successful result's figures cannot be trusted: each problem as a
 * phrase, none when every figure is what its data gives.
 */
export function crossCheckResult(result: VariantResultJson): string[] {
  const problems = countProblems(result);
  for (const [metric, derive] of Object.entries(DERIVATIONS) as [keyof MetricsJson, Derivation][]) {
    const value = result.metrics[metric];
    if (value === undefined) continue;
    const derived = derive(result);
    if ("missing" in derived) problems.push(`${metric} is ${value} but the result has no ${derived.missing} it derives from`);
    else if (value !== derived.value) problems.push(`${metric} is ${value} but ${derived.from} ${derived.value}`);
  }
  return problems;
}
