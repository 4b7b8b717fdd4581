import { describe, expect, it } from "vitest";
import { quantile } from "./quantile.js";

describe("quantile (nearest rank)", () => {
  it("returns a measured value at rank ⌈q·n⌉", () => {
    const values = [15, 20, 35, 40, 50];
    expect(quantile(values, 0.05)).toBe(15);
    expect(quantile(values, 0.3)).toBe(20);
    expect(quantile(values, 0.4)).toBe(20);
    expect(quantile(values, 0.5)).toBe(35);
    expect(quantile(values, 1)).toBe(50);
    expect(quantile(values, 0)).toBe(15);
    expect(quantile([3, 1, 2, 4], 0.5)).toBe(2);
  });

  it("refuses an empty sample", () => {
    expect(() => quantile([], 0.5)).toThrow(/empty/);
  });
});
