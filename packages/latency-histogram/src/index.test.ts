import { describe, expect, test } from "vitest";
import { bucketOf, histogramQuantile, LATENCY_BUCKET_COUNT, LATENCY_BUCKETS_MS, LatencyHistogram, mergeCounts } from "./index.js";

function countsOf(latencies: readonly number[]): number[] {
  const h = new LatencyHistogram();
  for (const ms of latencies) h.record(ms);
  return h.counts();
}

describe("fixed-bucket histograms", () => {
  test("the bounds are the report format's, increasing, with an overflow bucket after them", () => {
    expect(LATENCY_BUCKETS_MS[0]).toBe(1);
    expect(LATENCY_BUCKETS_MS.at(-1)).toBe(30_000);
    for (let i = 1; i < LATENCY_BUCKETS_MS.length; i++) expect(LATENCY_BUCKETS_MS[i]).toBeGreaterThan(LATENCY_BUCKETS_MS[i - 1] as number);
    expect(LATENCY_BUCKET_COUNT).toBe(LATENCY_BUCKETS_MS.length + 1);
    expect(Object.isFrozen(LATENCY_BUCKETS_MS)).toBe(true);
  });

  test("buckets by upper bound, merges by adding, and reads quantiles as histogram_quantile does", () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(1)).toBe(0);
    expect(bucketOf(1.01)).toBe(1);
    expect(bucketOf(30_000)).toBe(LATENCY_BUCKETS_MS.length - 1);
    expect(bucketOf(30_001)).toBe(LATENCY_BUCKETS_MS.length);
    const merged = mergeCounts(countsOf([3, 4, 4, 5]), countsOf([90, 90, 90, 90]));
    expect(merged.reduce((a, b) => a + b, 0)).toBe(8);
    expect(histogramQuantile(0.5, merged)).toBe(5); // rank 4: the top of the (2, 5] bucket
    expect(histogramQuantile(1, merged)).toBe(100);
    expect(histogramQuantile(0.99, countsOf([50_000]))).toBe(30_000);
    expect(histogramQuantile(0.5, countsOf([]))).toBeUndefined();
    expect(() => histogramQuantile(0, merged)).toThrow(RangeError);
  });

  test("merging two devices' histograms gives the histogram of all their latencies", () => {
    const a = [0.4, 3, 17, 180, 2_500];
    const b = [9, 9.5, 11, 45_000];
    expect(mergeCounts(countsOf(a), countsOf(b))).toEqual(countsOf([...a, ...b]));
  });

  test("a recorder counts each latency once and refuses what is not a latency", () => {
    const h = new LatencyHistogram();
    h.record(7);
    h.record(7);
    h.record(600);
    expect(h.total).toBe(3);
    const counts = h.counts();
    expect(counts[bucketOf(7)]).toBe(2);
    expect(counts[bucketOf(600)]).toBe(1);
    counts[0] = 99; // a copy
    expect(h.counts()[0]).toBe(0);
    const other = new LatencyHistogram();
    other.record(7);
    other.record(45_000);
    h.merge(other);
    expect(h.total).toBe(5);
    expect(h.counts()).toEqual(countsOf([7, 7, 600, 7, 45_000]));
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => h.record(bad)).toThrow(RangeError);
    expect(h.total).toBe(5);
  });
});
