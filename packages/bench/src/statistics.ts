/**
 * Summary statistics of timing samples.
 *
 * Percentiles use the nearest-rank definition, as MLPerf loadgen does: the
 * p-th percentile of n samples is the value at 1-based rank ⌈p/100 · n⌉ of the
 * samples sorted ascending (rank 1 for p = 0). It is always one of the
 * measured samples, never an interpolation between two of them.
 */

/** The nearest-rank p-th percentile (0 ≤ p ≤ 100) of `samples`. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new RangeError("percentile of an empty sample set");
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const sorted = [...samples].sort((a, b) => a - b);
  return sortedPercentile(sorted, p);
}

function sortedPercentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

export function mean(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError("mean of an empty sample set");
  let sum = 0;
  for (const s of samples) sum += s;
  return sum / samples.length;
}

/** Sample standard deviation (n − 1 in the denominator); 0 for one sample. */
export function standardDeviation(samples: readonly number[]): number {
  if (samples.length < 2) return 0;
  const m = mean(samples);
  let squares = 0;
  for (const s of samples) squares += (s - m) * (s - m);
  return Math.sqrt(squares / (samples.length - 1));
}

/** Standard error of the mean: sample standard deviation / √n. */
export function standardError(samples: readonly number[]): number {
  if (samples.length < 2) return 0;
  return standardDeviation(samples) / Math.sqrt(samples.length);
}

/** Latency summary of a sample set, in the samples' unit (milliseconds in reports). */
export interface Summary {
  readonly count: number;
  readonly mean: number;
  readonly stddev: number;
  readonly min: number;
  readonly max: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError("summary of an empty sample set");
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    mean: mean(sorted),
    stddev: standardDeviation(sorted),
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    p50: sortedPercentile(sorted, 50),
    p90: sortedPercentile(sorted, 90),
    p99: sortedPercentile(sorted, 99),
  };
}

/** Least-squares slope of y over x (0 when x does not vary). */
export function slope(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new RangeError("slope: x and y differ in length");
  if (x.length < 2) return 0;
  const mx = mean(x);
  const my = mean(y);
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    const dx = (x[i] as number) - mx;
    num += dx * ((y[i] as number) - my);
    den += dx * dx;
  }
  return den === 0 ? 0 : num / den;
}
