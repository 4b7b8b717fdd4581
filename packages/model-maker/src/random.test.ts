import { describe, expect, it } from "vitest";
import { Random, hashString } from "./random.js";

describe("Random", () => {
  it("repeats the same stream for the same seed and name, and differs otherwise", () => {
    const draw = (seed: number, name: string) => {
      const r = new Random(seed, name);
      return Array.from({ length: 8 }, () => r.nextUint32());
    };
    expect(draw(1, "a")).toEqual(draw(1, "a"));
    expect(draw(1, "a")).not.toEqual(draw(2, "a"));
    expect(draw(1, "a")).not.toEqual(draw(1, "b"));
  });

  it("draws standard normals (mean near 0, variance near 1)", () => {
    const r = new Random(42, "normal");
    const n = 200_000;
    let sum = 0;
    let sumSquares = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      sum += x;
      sumSquares += x * x;
    }
    const mean = sum / n;
    const variance = sumSquares / n - mean * mean;
    // Standard errors: mean 1/sqrt(n) ≈ 0.0022, variance sqrt(2/n) ≈ 0.0032; allow 5 of them.
    expect(Math.abs(mean)).toBeLessThan(0.012);
    expect(Math.abs(variance - 1)).toBeLessThan(0.016);
  });

  it("draws uniform integers covering the whole range", () => {
    const r = new Random(3);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(r.int(10));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("hashes strings with FNV-1a", () => {
    // Published FNV-1a 32-bit test vectors.
    expect(hashString("")).toBe(0x811c9dc5);
    expect(hashString("a")).toBe(0xe40c292c);
    expect(hashString("foobar")).toBe(0xbf9cf968);
  });
});

describe("Random.fillNormal", () => {
  it("gives exactly the values of normal() in a loop, scaled and shifted", () => {
    const a = new Random(9, "t");
    const b = new Random(9, "t");
    const filled = new Float32Array(101);
    a.fillNormal(filled, 1, 0.5);
    const looped = Float32Array.from({ length: 101 }, () => 1 + 0.5 * b.normal());
    expect(filled).toEqual(looped);
    // The odd sample's partner is kept for the next draw, as normal() does.
    expect(a.normal()).toBe(b.normal());
  });
});
