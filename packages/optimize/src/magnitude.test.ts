import { describe, expect, it } from "vitest";
import { kthSmallestMagnitude, pruneSmallest } from "./magnitude.js";
import { compareLogits } from "./metrics.js";
import { weightLike } from "./test-support/random.js";

describe("magnitude thresholds", () => {
  it("finds the exact k-th smallest magnitude across tensors", () => {
    const a = weightLike(5000, 1);
    const b = weightLike(3000, 2, 0.5);
    const sorted = [...a, ...b].map(Math.abs).sort((x, y) => x - y);
    for (const k of [1, 17, 4000, 7999, 8000]) {
      expect(kthSmallestMagnitude([a, b], k)).toBe(Math.fround(sorted[k - 1]!));
    }
  });

  it("zeroes exactly the requested count, ties included", () => {
    const t = new Float32Array([0.5, -0.5, 0.5, 0.1, -0.1, 2, 3, -0.5]);
    const zeros = pruneSmallest([t], 4);
    expect(zeros).toBe(4);
    expect([...t]).toEqual([0, 0, 0.5, 0, 0, 2, 3, -0.5]);
  });

  it("keeps the largest magnitudes", () => {
    const t = weightLike(10000, 9);
    const before = Float32Array.from(t);
    pruneSmallest([t], 7000);
    const kept = [...before].map(Math.abs).sort((x, y) => y - x).slice(0, 3000);
    const survivors = [...t].filter((v) => v !== 0).map(Math.abs).sort((x, y) => y - x);
    expect(survivors).toEqual(kept);
  });
});

describe("logit comparison", () => {
  it("is zero for identical logits and positive otherwise", () => {
    const ref = weightLike(4 * 50, 5, 3);
    const same = compareLogits(ref, Float32Array.from(ref), 50);
    expect(same.klDivergence).toBeLessThan(1e-12);
    expect(same.top1Agreement).toBe(1);
    expect(same.maxAbsDiff).toBe(0);
    const shifted = Float32Array.from(ref, (v) => v + 7); // softmax is shift-invariant
    expect(compareLogits(ref, shifted, 50).klDivergence).toBeLessThan(1e-9);
    const noisy = Float32Array.from(ref, (v, i) => v + 0.5 * Math.sin(i * 12.9898));
    const c = compareLogits(ref, noisy, 50);
    expect(c.klDivergence).toBeGreaterThan(1e-4);
    expect(c.maxAbsDiff).toBeGreaterThan(0.4);
    expect(c.positions).toBe(4);
  });
});
