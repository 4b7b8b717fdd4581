/**
 * The regression check: is the candidate's metric worse than the baseline's by
 * more than the allowed share, at a stated confidence?
 *
 * Method: a percentile bootstrap interval (seeded, so deterministic) of the
 * relative change of the metric's quantile (p50, p90, …) from the baseline's
 * samples to the candidate's, measured on the same device. With `worsening`
 * the change in the bad direction (an increase for latencies, a decrease for
 * throughput) and `allowed` the allowed share:
 *
 * - pass: the whole central interval lies below `allowed`;
 * - fail: the whole interval lies above `allowed`;
 * - inconclusive: the interval straddles it — the samples cannot tell; rerun.
 *
 * With a central interval of confidence c, a change exactly at the limit is
 * wrongly passed, or wrongly failed, at most (1 − c) / 2 of the time each.
 * Metrics without samples (model size, peak memory, …) are compared as exact
 * values.
 */
import { bootstrapRelativeChange, DEFAULT_RESAMPLES, DEFAULT_SEED } from "./bootstrap.js";
import type { Direction } from "./metrics.js";

export type CheckOutcome = "pass" | "fail" | "inconclusive";

/** Fewer samples than this on either side cannot support an interval: inconclusive. */
export const MIN_SAMPLES = 10;
/** More samples than this are refused as implausible input. */
export const MAX_SAMPLES = 1_000_000;

export interface RegressionOptions {
  /** Metric name, for messages. */
  readonly metric: string;
  readonly direction: Direction;
  /** Allowed worsening as a fraction: 0.05 allows 5% slower (or 5% less throughput). */
  readonly allowed: number;
  /** Confidence of the interval, in (0.5, 1). Default 0.95. */
  readonly confidence?: number;
  /** Quantile of the samples the metric is (0.5 for p50). */
  readonly quantile: number;
  readonly resamples?: number;
  readonly seed?: string | number;
}

export interface RegressionResult {
  readonly outcome: CheckOutcome;
  readonly metric: string;
  readonly method: "bootstrap" | "exact";
  readonly direction: Direction;
  readonly allowed: number;
  readonly confidence: number;
  /** Relative change candidate/baseline − 1 of the statistic (positive = larger). */
  readonly change: number;
  /** Interval of that relative change (equal to `change` for exact values). */
  readonly lower: number;
  readonly upper: number;
  readonly baselineValue: number;
  readonly candidateValue: number;
  readonly baselineCount: number;
  readonly candidateCount: number;
  /** One sentence: what was found. */
  readonly message: string;
  /** What to do, for inconclusive results. */
  readonly advice?: string;
}

/** Problems that make a sample unusable, or undefined when it is fine. */
export function sampleProblem(samples: readonly number[]): string | undefined {
  if (!Array.isArray(samples)) return "is not a list of numbers";
  if (samples.length > MAX_SAMPLES) return `has ${samples.length} values, more than the ${MAX_SAMPLES} accepted`;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) return `has an invalid value at index ${i} (${String(v)}): samples must be positive finite numbers`;
  }
  return undefined;
}

function percent(x: number): string {
  const p = x * 100;
  const digits = Math.abs(p) >= 10 ? 1 : 2;
  return `${p >= 0 ? "+" : "−"}${Math.abs(p).toFixed(digits)}%`;
}

function checkAllowed(options: RegressionOptions): number {
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0.5 && confidence < 1)) throw new RangeError(`confidence must lie in (0.5, 1), got ${confidence}`);
  if (!(options.allowed >= 0 && Number.isFinite(options.allowed))) throw new RangeError(`allowed change must be a non-negative fraction, got ${options.allowed}`);
  return confidence;
}

/** Worsening interval: change in the bad direction. */
function worsening(direction: Direction, lower: number, upper: number): [number, number] {
  return direction === "lower-is-better" ? [lower, upper] : [-upper, -lower];
}

function decide(options: RegressionOptions, lower: number, upper: number): CheckOutcome {
  const [worstLow, worstHigh] = worsening(options.direction, lower, upper);
  if (worstHigh <= options.allowed) return "pass";
  if (worstLow > options.allowed) return "fail";
  return "inconclusive";
}

function limitText(options: RegressionOptions): string {
  return options.direction === "lower-is-better" ? `the allowed ${percent(options.allowed)} increase` : `the allowed ${percent(-options.allowed)} decrease`;
}

/** Compare raw samples of the baseline and the candidate with a bootstrap interval. */
export function compareSamples(baseline: readonly number[], candidate: readonly number[], options: RegressionOptions): RegressionResult {
  const confidence = checkAllowed(options);
  for (const [side, samples] of [["baseline", baseline], ["candidate", candidate]] as const) {
    const problem = sampleProblem(samples);
    if (problem) throw new RangeError(`${options.metric}: the ${side} samples ${problem}`);
  }
  const level = `${Math.round(confidence * 1000) / 10}%`;
  if (baseline.length < MIN_SAMPLES || candidate.length < MIN_SAMPLES) {
    return {
      outcome: "inconclusive",
      metric: options.metric,
      method: "bootstrap",
      direction: options.direction,
      allowed: options.allowed,
      confidence,
      change: Number.NaN,
      lower: Number.NaN,
      upper: Number.NaN,
      baselineValue: Number.NaN,
      candidateValue: Number.NaN,
      baselineCount: baseline.length,
      candidateCount: candidate.length,
      message: `${options.metric}: too few samples to compare (baseline ${baseline.length}, candidate ${candidate.length}; at least ${MIN_SAMPLES} each are needed)`,
      advice: "Run the benchmark with more iterations (bench.min-iterations) so each side has enough samples.",
    };
  }
  const interval = bootstrapRelativeChange(baseline, candidate, {
    quantile: options.quantile,
    confidence,
    resamples: options.resamples ?? DEFAULT_RESAMPLES,
    seed: options.seed ?? `${DEFAULT_SEED}:${options.metric}`,
  });
  const outcome = decide(options, interval.lower, interval.upper);
  const range = `${level} interval ${percent(interval.lower)} … ${percent(interval.upper)}`;
  const verb = outcome === "pass" ? "is within" : outcome === "fail" ? "exceeds" : "straddles";
  return {
    outcome,
    metric: options.metric,
    method: "bootstrap",
    direction: options.direction,
    allowed: options.allowed,
    confidence,
    change: interval.estimate,
    lower: interval.lower,
    upper: interval.upper,
    baselineValue: interval.baselineStatistic,
    candidateValue: interval.candidateStatistic,
    baselineCount: baseline.length,
    candidateCount: candidate.length,
    message: `${options.metric} changed ${percent(interval.estimate)} (${range}), which ${verb} ${limitText(options)}`,
    ...(outcome === "inconclusive"
      ? { advice: "The samples cannot tell at this confidence: rerun the benchmark (or raise bench.min-iterations / min-duration) to narrow the interval." }
      : {}),
  };
}

/** Compare two exact values (a metric measured once, such as model size). */
export function compareValues(baseline: number, candidate: number, options: RegressionOptions): RegressionResult {
  const confidence = checkAllowed(options);
  for (const [side, value] of [["baseline", baseline], ["candidate", candidate]] as const) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw new RangeError(`${options.metric}: the ${side} value must be a non-negative finite number, got ${String(value)}`);
  }
  const change = baseline === 0 ? (candidate === 0 ? 0 : Number.POSITIVE_INFINITY) : candidate / baseline - 1;
  const outcome = decide(options, change, change) === "pass" ? "pass" : "fail";
  return {
    outcome,
    metric: options.metric,
    method: "exact",
    direction: options.direction,
    allowed: options.allowed,
    confidence,
    change,
    lower: change,
    upper: change,
    baselineValue: baseline,
    candidateValue: candidate,
    baselineCount: 1,
    candidateCount: 1,
    message: `${options.metric} changed ${percent(change)}, which ${outcome === "pass" ? "is within" : "exceeds"} ${limitText(options)}`,
  };
}
