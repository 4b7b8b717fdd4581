import { describe, expect, it } from "vitest";
import { bootstrapRelativeChange, resampleQuantile } from "./bootstrap.js";
import { quantileOfSorted, quantilePosition } from "./quantile.js";
import { createRandom } from "./random.js";

/** The textbook bootstrap: draw n values with replacement, sort, take the quantile. */
function naiveResampleQuantile(sorted: readonly number[], random: () => number, q: number): number {
  const n = sorted.length;
  const draw = Array.from({ length: n }, () => sorted[Math.floor(random() * n)]!).sort((a, b) => a - b);
  return quantileOfSorted(draw, q);
}

function histogram(values: number[]): Map<number, number> {
  const h = new Map<number, number>();
  for (const v of values) h.set(v, (h.get(v) ?? 0) + 1 / values.length);
  return h;
}

describe("resampleQuantile", () => {
  const sorted = [3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377];
  const draws = 40_000;

  for (const q of [0.5, 0.9, 0.25]) {
    it(`draws the same distribution as resampling and sorting (q = ${q})`, () => {
      const { index, fraction } = quantilePosition(sorted.length, q);
      const fast = createRandom(`fast${q}`);
      const slow = createRandom(`slow${q}`);
      const direct = histogram(Array.from({ length: draws }, () => resampleQuantile(sorted, fast, index, fraction)));
      const naive = histogram(Array.from({ length: draws }, () => naiveResampleQuantile(sorted, slow, q)));
      const support = new Set([...direct.keys(), ...naive.keys()]);
      let total = 0;
      for (const value of support) total += Math.abs((direct.get(value) ?? 0) - (naive.get(value) ?? 0));
      // Total variation distance between the two empirical distributions.
      expect(total / 2).toBeLessThan(0.03);
      expect(direct.size).toBeGreaterThan(3);
    });
  }
});

describe("bootstrapRelativeChange", () => {
  const baseline = Array.from({ length: 100 }, (_, i) => 10 + (i % 10) * 0.1);
  const candidate = baseline.map((x) => x * 1.2);

  it("centres on the relative change of the statistic", () => {
    const r = bootstrapRelativeChange(baseline, candidate, { quantile: 0.5, confidence: 0.95 });
    expect(r.estimate).toBeCloseTo(0.2, 10);
    expect(r.lower).toBeLessThanOrEqual(0.2 + 1e-9);
    expect(r.upper).toBeGreaterThanOrEqual(0.2 - 1e-9);
    expect(r.upper - r.lower).toBeLessThan(0.05);
  });

  it("is reproducible with the same seed and varies with another", () => {
    const random = createRandom("continuous");
    const noisy = Array.from({ length: 200 }, () => 10 + random() * 4);
    const later = Array.from({ length: 200 }, () => 11 + random() * 4);
    const a = bootstrapRelativeChange(noisy, later, { quantile: 0.9, confidence: 0.9, seed: 1 });
    const b = bootstrapRelativeChange(noisy, later, { quantile: 0.9, confidence: 0.9, seed: 1 });
    const c = bootstrapRelativeChange(noisy, later, { quantile: 0.9, confidence: 0.9, seed: 2 });
    expect(b).toEqual(a);
    expect(c.lower === a.lower && c.upper === a.upper).toBe(false);
  });

  it("widens with the confidence", () => {
    const noisy = Array.from({ length: 50 }, (_, i) => 10 + Math.sin(i) * 2);
    const narrow = bootstrapRelativeChange(noisy, noisy, { quantile: 0.5, confidence: 0.8 });
    const wide = bootstrapRelativeChange(noisy, noisy, { quantile: 0.5, confidence: 0.99 });
    expect(wide.upper - wide.lower).toBeGreaterThan(narrow.upper - narrow.lower);
  });

  it("rejects invalid options", () => {
    expect(() => bootstrapRelativeChange(baseline, candidate, { quantile: 1, confidence: 0.95 })).toThrow(/quantile/);
    expect(() => bootstrapRelativeChange(baseline, candidate, { quantile: 0.5, confidence: 0.95, resamples: 10 })).toThrow(/resamples/);
  });
});
