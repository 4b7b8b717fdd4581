/**
 * Percentile bootstrap confidence interval for the relative change of a
 * quantile between two independent samples (baseline and candidate).
 *
 * Each resample draws n values with replacement from each sample; only the
 * order statistics the quantile needs are drawn (see `resampleQuantile`), so
 * a resample costs O(1). The generator is seeded, so the interval is the same
 * for the same inputs and seed.
 */
import { beta, createRandom, type Random } from "./random.js";
import { quantileOfSorted, quantilePosition } from "./quantile.js";

export interface BootstrapOptions {
  /** The statistic: quantile in (0, 1), 0.5 for the median. */
  readonly quantile: number;
  /** Two-sided confidence of the interval, in (0, 1). */
  readonly confidence: number;
  /** Number of resamples (default {@link DEFAULT_RESAMPLES}). */
  readonly resamples?: number;
  /** Seed of the generator (default `"slmops-gate"`). */
  readonly seed?: string | number;
}

export interface RelativeChangeInterval {
  /** Candidate statistic over baseline statistic, minus one (0.05 is +5%). */
  readonly estimate: number;
  /** Lower and upper ends of the central `confidence` interval of that change. */
  readonly lower: number;
  readonly upper: number;
  readonly confidence: number;
  readonly resamples: number;
  readonly baselineStatistic: number;
  readonly candidateStatistic: number;
}

export const DEFAULT_RESAMPLES = 2000;
export const DEFAULT_SEED = "slmops-gate";

/**
 * Quantile of one bootstrap resample of `sorted` (n values drawn with
 * replacement), drawn directly. A resample value is `sorted[floor(n·u)]` with
 * u uniform, and that map is monotone, so the resample's k-th smallest value
 * is `sorted[floor(n·U₍ₖ₎)]` where U₍ₖ₎, the k-th smallest of n uniforms,
 * follows Beta(k, n − k + 1). The next order statistic is U₍ₖ₎ plus the
 * smallest of the n − k uniforms above it. Same distribution as resampling
 * and sorting, at O(1) cost instead of O(n).
 */
export function resampleQuantile(sorted: ArrayLike<number>, random: Random, index: number, fraction: number): number {
  const n = sorted.length;
  const k = index + 1;
  const uk = beta(random, k, n - k + 1);
  const low = sorted[Math.min(n - 1, Math.floor(n * uk))]!;
  if (fraction === 0 || k >= n) return low;
  const next = uk + (1 - uk) * (1 - Math.pow(1 - random(), 1 / (n - k)));
  const high = sorted[Math.min(n - 1, Math.floor(n * next))]!;
  return low + fraction * (high - low);
}

/**
 * The relative change of the `quantile` from `baseline` to `candidate` with a
 * percentile bootstrap interval. Samples must be positive finite numbers
 * (checked by the caller, see `validateSamples`).
 */
export function bootstrapRelativeChange(
  baseline: readonly number[],
  candidate: readonly number[],
  options: BootstrapOptions,
): RelativeChangeInterval {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const { quantile: q, confidence } = options;
  if (!(q > 0 && q < 1)) throw new RangeError(`quantile must lie in (0, 1), got ${q}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must lie in (0, 1), got ${confidence}`);
  if (!Number.isInteger(resamples) || resamples < 100) throw new RangeError(`resamples must be an integer of at least 100, got ${resamples}`);

  const sortedBaseline = Float64Array.from(baseline).sort();
  const sortedCandidate = Float64Array.from(candidate).sort();
  const baselineStatistic = quantileOfSorted(sortedBaseline, q);
  const candidateStatistic = quantileOfSorted(sortedCandidate, q);

  const random = createRandom(options.seed ?? DEFAULT_SEED);
  const bp = quantilePosition(sortedBaseline.length, q);
  const cp = quantilePosition(sortedCandidate.length, q);
  const changes = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    const base = resampleQuantile(sortedBaseline, random, bp.index, bp.fraction);
    const cand = resampleQuantile(sortedCandidate, random, cp.index, cp.fraction);
    changes[b] = cand / base - 1;
  }
  changes.sort();
  const tail = (1 - confidence) / 2;
  return {
    estimate: candidateStatistic / baselineStatistic - 1,
    lower: quantileOfSorted(changes, tail),
    upper: quantileOfSorted(changes, 1 - tail),
    confidence,
    resamples,
    baselineStatistic,
    candidateStatistic,
  };
}
