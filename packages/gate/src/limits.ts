/**
 * Absolute gates: `max`/`min` limits on named metrics over one result's
 * metrics record. A metric that was not reported fails — a gate never passes
 * for lack of data.
 */
import type { CheckOutcome } from "./regression.js";

/** Limits in the metric's base unit (ms, bytes, tokens/s, fraction, …). */
export interface MetricLimit {
  readonly max?: number;
  readonly min?: number;
}

/** Metric values by name, in their base units. */
export type MetricsRecord = Readonly<Record<string, number | null | undefined>>;

export interface LimitResult {
  readonly metric: string;
  readonly outcome: Extract<CheckOutcome, "pass" | "fail">;
  /** The reported value, when there was a usable one. */
  readonly value?: number;
  readonly limit: MetricLimit;
  /** One sentence: the value against the limit, or why there is no value. */
  readonly message: string;
}

/** How to show a value of a metric in a message. */
export type ValueFormatter = (metric: string, value: number) => string;

const plain: ValueFormatter = (_metric, value) => String(value);

/** Checks one metric's value against its limit. */
export function evaluateLimit(metric: string, value: unknown, limit: MetricLimit, format: ValueFormatter = plain): LimitResult {
  if (limit.max === undefined && limit.min === undefined) throw new RangeError(`limit on ${metric} has neither max nor min`);
  if (value === undefined || value === null) {
    return { metric, outcome: "fail", limit, message: `${metric} was not reported, so its limit cannot be checked` };
  }
  if (typeof value !== "number" || !Number.isFinite(value)) {
    return { metric, outcome: "fail", limit, message: `${metric} is not a finite number (${JSON.stringify(value) ?? String(value)})` };
  }
  if (limit.max !== undefined && value > limit.max) {
    return { metric, outcome: "fail", value, limit, message: `${metric} is ${format(metric, value)}, above the maximum ${format(metric, limit.max)}` };
  }
  if (limit.min !== undefined && value < limit.min) {
    return { metric, outcome: "fail", value, limit, message: `${metric} is ${format(metric, value)}, below the minimum ${format(metric, limit.min)}` };
  }
  const bounds = [
    limit.min !== undefined ? `≥ ${format(metric, limit.min)}` : undefined,
    limit.max !== undefined ? `≤ ${format(metric, limit.max)}` : undefined,
  ].filter((b): b is string => b !== undefined);
  return { metric, outcome: "pass", value, limit, message: `${metric} is ${format(metric, value)}, within ${bounds.join(" and ")}` };
}

/** Checks every limit, in the order given, against a metrics record. */
export function evaluateLimits(
  metrics: MetricsRecord,
  limits: Readonly<Record<string, MetricLimit>>,
  format: ValueFormatter = plain,
): LimitResult[] {
  return Object.entries(limits).map(([metric, limit]) =>
    evaluateLimit(metric, Object.hasOwn(metrics, metric) ? metrics[metric] : undefined, limit, format),
  );
}
