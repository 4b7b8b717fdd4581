import type { MetricName, MetricUnit } from "./types.js";

/**
 * The values a metric can take: above (or, when `lowIncluded`, at least)
 * `low`, and at most `high` when there is one. A limit outside this range
 * either can never pass or always passes, and is refused.
 */
export interface MetricRange {
  readonly low: number;
  readonly lowIncluded: boolean;
  readonly high?: number;
  /** The range in words, for messages: "a perplexity is never below 1". */
  readonly words: string;
  /** A typical limit, for hints: "`max: 25`". */
  readonly example: string;
}

interface MetricSpec {
  readonly kind: "duration" | "size" | "number" | "fraction";
  readonly unit: MetricUnit;
  readonly worseWhen: "higher" | "lower";
  readonly range: MetricRange;
}

const positive = (what: string, example: string): MetricRange => Object.freeze({ low: 0, lowIncluded: false, words: `${what} is always more than 0`, example });
const latency = positive("a latency", "`max: 40ms`");

/** How each metric is written, what unit it normalizes to, which direction is worse, and the values it can take. */
export const METRICS: Readonly<Record<MetricName, MetricSpec>> = Object.freeze({
  "latency-p50": { kind: "duration", unit: "ms", worseWhen: "higher", range: latency },
  "latency-p90": { kind: "duration", unit: "ms", worseWhen: "higher", range: latency },
  "latency-p99": { kind: "duration", unit: "ms", worseWhen: "higher", range: latency },
  "decode-latency-p50": { kind: "duration", unit: "ms", worseWhen: "higher", range: latency },
  "decode-latency-p90": { kind: "duration", unit: "ms", worseWhen: "higher", range: latency },
  "decode-latency-p99": { kind: "duration", unit: "ms", worseWhen: "higher", range: latency },
  ttft: { kind: "duration", unit: "ms", worseWhen: "higher", range: positive("a time to first token", "`max: 500ms`") },
  "tokens-per-second": { kind: "number", unit: "tokens/s", worseWhen: "lower", range: positive("a throughput", "`min: 100`") },
  "peak-memory": { kind: "size", unit: "bytes", worseWhen: "higher", range: positive("peak memory", "`max: 512MiB`") },
  "load-time": { kind: "duration", unit: "ms", worseWhen: "higher", range: positive("a load time", "`max: 2s`") },
  "model-size": { kind: "size", unit: "bytes", worseWhen: "higher", range: positive("a model's size", "`max: 256MiB`") },
  "kl-divergence": { kind: "number", unit: "nats", worseWhen: "higher", range: { low: 0, lowIncluded: true, words: "a KL divergence is never below 0", example: "`max: 0.05`" } },
  "top-1-agreement": { kind: "fraction", unit: "fraction", worseWhen: "lower", range: { low: 0, lowIncluded: true, high: 1, words: "a share of positions is between 0% and 100%", example: "`min: 90%`" } },
  perplexity: { kind: "number", unit: "perplexity", worseWhen: "higher", range: { low: 1, lowIncluded: true, words: "a perplexity is never below 1", example: "`max: 25`" } },
});

export function isMetricName(name: string): name is MetricName {
  return Object.prototype.hasOwnProperty.call(METRICS, name);
}
