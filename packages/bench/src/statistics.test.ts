import { describe, expect, it } from "vitest";
import { mean, percentile, slope, standardDeviation, standardError, summarize } from "./statistics.js";
import { SeededRandom } from "./random.js";

/**
 * The nearest-rank percentile straight from its definition, written
 * independently of the implementation: the smallest sample x such that at
 * least p% of the samples are ≤ x.
 */
function referencePercentile(samples: readonly number[], p: number): number {
  const candidates = [...new Set(samples)].sort((a, b) => a - b);
  for (const x of candidates) {
    const atOrBelow = samples.filter((s) => s <= x).length;
    if (atOrBelow * 100 >= p * samples.length) return x;
  }
  return candidates[candidates.length - 1] as number;
}

describe("percentile (nearest rank)", () => {
  it("matches the textbook example (15, 20, 35, 40, 50)", () => {
    const s = [15, 20, 35, 40, 50];
    expect(percentile(s, 5)).toBe(15);
    expect(percentile(s, 30)).toBe(20);
    expect(percentile(s, 40)).toBe(20);
    expect(percentile(s, 50)).toBe(35);
    expect(percentile(s, 100)).toBe(50);
  });

  it("on 1..100 the p-th percentile is p", () => {
    const s = Array.from({ length: 100 }, (_, i) => 100 - i); // unsorted input
    for (const p of [1, 50, 90, 99, 100]) expect(percentile(s, p)).toBe(p);
    expect(percentile(s, 0)).toBe(1);
  });

  it("agrees with the definition on random sample sets, duplicates included", () => {
    const random = new SeededRandom(42);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + random.int(300);
      const samples = Array.from({ length: n }, () => Math.round(random.next() * 50) / 2);
      for (const p of [0.1, 1, 25, 50, 90, 95, 99, 99.9, 100]) {
        expect(percentile(samples, p)).toBe(referencePercentile(samples, p));
      }
    }
  });

  it("is always one of the samples (no interpolation)", () => {
    expect(percentile([1, 2], 50)).toBe(1);
    expect(percentile([1, 2], 51)).toBe(2);
    expect(percentile([10, 20, 30, 40], 90)).toBe(40);
  });

  it("refuses an empty set and out-of-range p", () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe("summaries", () => {
  it("summarize gives count, mean, spread and percentiles", () => {
    const s = summarize([4, 1, 3, 2, 10]);
    expect(s).toEqual({ count: 5, mean: 4, stddev: Math.sqrt(12.5), min: 1, max: 10, p50: 3, p90: 10, p99: 10 });
  });

  it("standard deviation and standard error use n − 1", () => {
    expect(standardDeviation([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(standardError([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7) / Math.sqrt(8), 12);
    expect(standardDeviation([3])).toBe(0);
    expect(mean([1, 2, 3, 4])).toBe(2.5);
  });

  it("slope fits a line", () => {
    expect(slope([0, 1, 2, 3], [1, 3, 5, 7])).toBeCloseTo(2, 12);
    expect(slope([5, 5], [1, 2])).toBe(0);
  });
});
