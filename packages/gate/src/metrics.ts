/**
 * The metrics gates can name, what unit their values are in, which way is
 * better, and which raw sample series (and quantile of it) a regression check
 * compares. Names are those of `slmops.yaml`.
 */

export type Direction = "lower-is-better" | "higher-is-better";

/** The base unit a metric's value is recorded in. */
export type MetricUnit = "ms" | "bytes" | "tokens/s" | "nats" | "fraction" | "number";

export interface MetricDefinition {
  readonly name: MetricName;
  readonly unit: MetricUnit;
  readonly direction: Direction;
  /** The raw per-run samples behind the metric and the quantile of them it is. */
  readonly series?: { readonly name: SampleSeries; readonly quantile: number };
  /** A short label for tables. */
  readonly label: string;
}

export const METRIC_NAMES = [
  "latency-p50",
  "latency-p90",
  "latency-p99",
  "decode-latency-p50",
  "decode-latency-p90",
  "decode-latency-p99",
  "ttft",
  "tokens-per-second",
  "peak-memory",
  "load-time",
  "model-size",
  "kl-divergence",
  "top-1-agreement",
  "perplexity",
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

/** Names of raw sample series: per-run latency, per-token decode latency, per-run ttft and throughput. */
export type SampleSeries = "latency" | "decode-latency" | "ttft" | "tokens-per-second";

function define(
  name: MetricName,
  unit: MetricUnit,
  direction: Direction,
  label: string,
  series?: { name: SampleSeries; quantile: number },
): MetricDefinition {
  return Object.freeze(series ? { name, unit, direction, label, series: Object.freeze(series) } : { name, unit, direction, label });
}

export const METRICS: Readonly<Record<MetricName, MetricDefinition>> = Object.freeze({
  "latency-p50": define("latency-p50", "ms", "lower-is-better", "latency p50", { name: "latency", quantile: 0.5 }),
  "latency-p90": define("latency-p90", "ms", "lower-is-better", "latency p90", { name: "latency", quantile: 0.9 }),
  "latency-p99": define("latency-p99", "ms", "lower-is-better", "latency p99", { name: "latency", quantile: 0.99 }),
  "decode-latency-p50": define("decode-latency-p50", "ms", "lower-is-better", "decode p50", { name: "decode-latency", quantile: 0.5 }),
  "decode-latency-p90": define("decode-latency-p90", "ms", "lower-is-better", "decode p90", { name: "decode-latency", quantile: 0.9 }),
  "decode-latency-p99": define("decode-latency-p99", "ms", "lower-is-better", "decode p99", { name: "decode-latency", quantile: 0.99 }),
  ttft: define("ttft", "ms", "lower-is-better", "ttft", { name: "ttft", quantile: 0.5 }),
  "tokens-per-second": define("tokens-per-second", "tokens/s", "higher-is-better", "tokens/s", { name: "tokens-per-second", quantile: 0.5 }),
  "peak-memory": define("peak-memory", "bytes", "lower-is-better", "peak memory"),
  "load-time": define("load-time", "ms", "lower-is-better", "load time"),
  "model-size": define("model-size", "bytes", "lower-is-better", "model size"),
  "kl-divergence": define("kl-divergence", "nats", "lower-is-better", "KL div."),
  "top-1-agreement": define("top-1-agreement", "fraction", "higher-is-better", "top-1 agr."),
  perplexity: define("perplexity", "number", "lower-is-better", "perplexity"),
});

export function isMetricName(name: string): name is MetricName {
  return Object.hasOwn(METRICS, name);
}

/** The definition of a metric, or a clear error naming the known ones. */
export function metricDefinition(name: string): MetricDefinition {
  if (!isMetricName(name)) throw new RangeError(`unknown metric "${name}"; known metrics: ${METRIC_NAMES.join(", ")}`);
  return METRICS[name];
}
