/**
 * Sample quantiles, defined as R's and NumPy's default ("type 7"): linear
 * interpolation between the order statistics around `(n - 1) * q`.
 */

/** The position of quantile `q` among `n` sorted values: the lower index and the weight of the next one. */
export function quantilePosition(n: number, q: number): { readonly index: number; readonly fraction: number } {
  const h = (n - 1) * q;
  const index = Math.min(n - 1, Math.max(0, Math.floor(h)));
  return { index, fraction: h - index };
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
