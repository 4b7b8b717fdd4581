/**
 * Sample quantiles by the nearest-rank definition, as the benchmark reports
 * them (MLPerf loadgen style): the q-quantile of n sorted values is the value
 * at 1-based rank ⌈q·n⌉ (rank 1 for q = 0). It is always a measured value, so
 * a report's p50 can be recomputed exactly from its samples.
 */

/** The 0-based index of quantile `q` among `n` sorted values (and a zero interpolation weight). */
export function quantilePosition(n: number, q: number): { readonly index: number; readonly fraction: number } {
  const rank = Math.max(1, Math.ceil(q * n));
  return { index: Math.min(n, rank) - 1, fraction: 0 };
}

/** Quantile `q` (0..1) of values already sorted ascending. */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError("quantile of an empty sample");
  const { index, fraction } = quantilePosition(n, q);
  const low = sorted[index] as number;
  if (fraction === 0 || index + 1 >= n) return low;
  const high = sorted[index + 1] as number;
  return low + fraction * (high - low);
}

/** Quantile `q` (0..1) of any values. */
export function quantile(values: readonly number[], q: number): number {
  return quantileOfSorted(Float64Array.from(values).sort(), q);
}
