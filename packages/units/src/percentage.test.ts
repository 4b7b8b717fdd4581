import { describe, expect, it } from "vitest";
import { formatPercentage, parsePercentage, PERCENTAGE_PATTERN, tryParsePercentage } from "./index.js";

describe("parsePercentage", () => {
  it.each([
    ["5%", 0.05],
    ["0.5%", 0.005],
    ["100%", 1],
    ["150%", 1.5],
    ["0%", 0],
  ])("reads %s as %d", (text, fraction) => {
    expect(parsePercentage(text)).toBeCloseTo(fraction, 12);
  });

  it.each([
    ["5", "write `5%`"],
    ["5 %", "write `5%`, without a space"],
    ["5pct", "write a number followed by `%`, e.g. `5%` or `0.5%`"],
  ])("refuses %s with the hint %s", (text, hint) => {
    const result = tryParsePercentage(text);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.hint).toBe(hint);
    expect(!result.ok && result.error.expected).toBe("percentage");
  });

  it.each(["-5%", "", "NaN%", "Infinity%", "%"])("refuses %s", (text) => {
    expect(() => parsePercentage(text)).toThrow();
  });

  it("agrees with PERCENTAGE_PATTERN", () => {
    const pattern = new RegExp(PERCENTAGE_PATTERN, "u");
    expect(pattern.test("2.5%")).toBe(true);
    expect(pattern.test("2.5 %")).toBe(false);
    expect(pattern.test("-1%")).toBe(false);
  });

  it("formats fractions and round-trips", () => {
    expect(formatPercentage(0.05)).toBe("5%");
    expect(formatPercentage(0.125)).toBe("12.5%");
    for (const f of [0, 0.02, 0.5, 1]) expect(parsePercentage(formatPercentage(f))).toBeCloseTo(f, 12);
    expect(() => formatPercentage(-0.1)).toThrow(RangeError);
  });
});
