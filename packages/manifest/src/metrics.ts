import type { MetricName, MetricUnit } from "./types.js";

/** How each metric is written, what unit it normalizes to, and which direction is worse. */
export const METRICS: Readonly<Record<MetricName, { readonly kind: "duration" | "size" | "number" | "fraction"; readonly unit: MetricUnit; readonly worseWhen: "higher" | "lower" }>> = Object.freeze({
  "latency-p50": { kind: "duration", unit: "ms", worseWhen: "higher" },
  "latency-p90": { kind: "duration", unit: "ms", worseWhen: "higher" },
  "latency-p99": { kind: "duration", unit: "ms", worseWhen: "higher" },
  "decode-latency-p50": { kind: "duration", unit: "ms", worseWhen: "higher" },
  "decode-latency-p90": { kind: "duration", unit: "ms", worseWhen: "higher" },
  "decode-latency-p99": { kind: "duration", unit: "ms", worseWhen: "higher" },
  ttft: { kind: "duration", unit: "ms", worseWhen: "higher" },
  "tokens-per-second": { kind: "number", unit: "tokens/s", worseWhen: "lower" },
  "peak-memory": { kind: "size", unit: "bytes", worseWhen: "higher" },
  "load-time": { kind: "duration", unit: "ms", worseWhen: "higher" },
  "model-size": { kind: "size", unit: "bytes", worseWhen: "higher" },
  "kl-divergence": { kind: "number", unit: "nats", worseWhen: "higher" },
  "top-1-agreement": { kind: "fraction", unit: "fraction", worseWhen: "lower" },
  perplexity: { kind: "number", unit: "perplexity", worseWhen: "higher" },
});

export function isMetricName(name: string): name is MetricName {
  return Object.prototype.hasOwnProperty.call(METRICS, name);
}
