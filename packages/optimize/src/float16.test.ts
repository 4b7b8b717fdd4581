import { describe, expect, it } from "vitest";
import { float16ToFloat32, float32ToFloat16, fromFloat16Bits, toFloat16Bits } from "./float16.js";

describe("float16", () => {
  it("encodes known values exactly", () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(toFloat16Bits(2 ** -26)).toBe(0x0000);
    expect(toFloat16Bits(0.1)).toBe(0x2e66);
    expect(toFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
  });

  it("rounds ties to even", () => {
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to the even mantissa (1).
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3·2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it("round-trips every finite half exactly", () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue;
      const back = toFloat16Bits(fromFloat16Bits(bits));
      // −0 and +0 keep their sign.
      expect(back).toBe(bits);
    }
  });

  it("stays within half a unit in the last place", () => {
    const values = Float32Array.from({ length: 2000 }, (_, i) => Math.sin(i) * 10 ** ((i % 9) - 4));
    const back = float16ToFloat32(float32ToFloat16(values));
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      const tolerance = Math.max(Math.abs(v) * 2 ** -11, 2 ** -25);
      expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(tolerance);
    }
  });
});
