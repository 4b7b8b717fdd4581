/**
 * @slmops/latency-histogram — fixed-bucket latency histograms. A device
 * counts its inferences per bucket of {@link LATENCY_BUCKETS_MS} (bounds
 * fixed by the collector's report format, so every device shares them), the
 * collector adds the counts up, and a percentile of the merged histogram is
 * read off it as Prometheus' `histogram_quantile` does (linear within the
 * bucket it falls in). Percentiles of separate devices cannot be merged;
 * counts in shared buckets can.
 */
import schema from "@slmops/schemas/collector-report.schema.json" with { type: "json" };

/** The bucket upper bounds in milliseconds, as the report format fixes them. */
export const LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([...schema.$defs.figures.properties.latencyBucketsMs.const]);

/** Counts in a histogram over {@link LATENCY_BUCKETS_MS}: one per bound, then the overflow. */
export const LATENCY_BUCKET_COUNT = LATENCY_BUCKETS_MS.length + 1;

/** Adds counts bucket by bucket (the arrays may differ in length; missing counts are 0). */
export function mergeCounts(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(Math.max(a.length, b.length)).fill(0);
  for (let i = 0; i < out.length; i++) out[i] = (a[i] ?? 0) + (b[i] ?? 0);
  return out;
}

/** The bucket index a latency lands in: the first bound it does not exceed, or the overflow bucket. */
export function bucketOf(latencyMs: number, bounds: readonly number[] = LATENCY_BUCKETS_MS): number {
  const index = bounds.findIndex((bound) => latencyMs <= bound);
  return index === -1 ? bounds.length : index;
}

/**
 * The q-quantile (0 < q ≤ 1) in milliseconds of a histogram with these
 * counts (one per bound, then the overflow), or undefined when it is empty.
 * Within a bucket the value is interpolated linearly; a quantile in the
 * overflow bucket is reported as the last bound (a lower limit, like
 * Prometheus does).
 */
export function histogramQuantile(q: number, counts: readonly number[], bounds: readonly number[] = LATENCY_BUCKETS_MS): number | undefined {
  if (!(q > 0 && q <= 1)) throw new RangeError(`a quantile lies in (0, 1], not ${q}`);
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i] ?? 0;
    if (cumulative + count >= rank && count > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1];
      const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
      const upper = bounds[i] ?? lower;
      return lower + (upper - lower) * ((rank - cumulative) / count);
    }
    cumulative += count;
  }
  return bounds[bounds.length - 1];
}

/** A histogram being filled: one latency at a time, read as counts. */
export class LatencyHistogram {
  readonly #counts = new Array<number>(LATENCY_BUCKET_COUNT).fill(0);
  #total = 0;

  /** Counts one latency in milliseconds; a negative or non-finite value is refused (a clock or caller bug). */
  record(latencyMs: number): void {
    if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new RangeError(`a latency is a finite number of milliseconds ≥ 0, not ${latencyMs}`);
    this.#counts[bucketOf(latencyMs)]! += 1;
    this.#total += 1;
  }

  /** Adds another histogram's counts to this one. */
  merge(other: LatencyHistogram): void {
    const counts = other.counts();
    for (let i = 0; i < LATENCY_BUCKET_COUNT; i++) this.#counts[i]! += counts[i] ?? 0;
    this.#total += other.total;
  }

  /** How many latencies were recorded. */
  get total(): number {
    return this.#total;
  }

  /** The counts per bucket (a copy). */
  counts(): number[] {
    return [...this.#counts];
  }
}
