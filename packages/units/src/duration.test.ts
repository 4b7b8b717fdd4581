import { describe, expect, it } from "vitest";
import { DURATION_PATTERN, formatDuration, parseDuration, tryParseDuration } from "./index.js";

describe("parseDuration", () => {
  it.each([
    ["40ms", 40],
    ["10s", 10_000],
    ["24h", 86_400_000],
    ["1m30s", 90_000],
    ["1h30m", 5_400_000],
    ["2d12h", 216_000_000],
    ["250us", 0.25],
    ["250µs", 0.25],
    ["500ns", 0.0005],
    ["1.5s", 1500],
    ["0s", 0],
    ["1m500ms", 60_500],
  ])("reads %s as %d ms", (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each([
    ["10", /`10` is not a duration/u, "add a unit: write `10s` for seconds or `10ms` for milliseconds"],
    ["10 sec", /not a duration/u, "write `10s`, not `10 sec`"],
    ["5min", /not a duration/u, "write `5m`, not `5min`"],
    ["2 hours", /not a duration/u, "write `2h`, not `2 hours`"],
    ["30s1m", /out of order/u, "write the largest unit first, e.g. `1m30s`, not `30s1m`"],
    ["1s1s", /repeats the unit/u, "write each unit once, largest first, e.g. `1m30s`"],
    ["1m 30s", /not a duration/u, undefined],
  ])("refuses %s with a hint", (text, message, hint) => {
    const result = tryParseDuration(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.message).toMatch(message);
    if (hint) expect(result.error.hint).toBe(hint);
    else expect(result.error.hint).toMatch(/largest first/u);
  });

  it.each(["-5s", "", "NaNs", "Infinitys", "1e3ms", "99999999999999999999d"])("refuses %s", (text) => {
    expect(() => parseDuration(text)).toThrow();
  });

  it("agrees with DURATION_PATTERN on what is well-formed", () => {
    const pattern = new RegExp(DURATION_PATTERN, "u");
    for (const text of ["40ms", "1m30s", "250us", "250µs", "1.5h"]) expect(pattern.test(text)).toBe(true);
    for (const text of ["10", "10 s", "5min", "-1s"]) {
      expect(pattern.test(text)).toBe(false);
      expect(tryParseDuration(text).ok).toBe(false);
    }
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [40, "40ms"],
    [0.25, "250us"],
    [0.0005, "0.5ns".replace("0.5ns", "500ns")],
    [1500, "1.5s"],
    [10_000, "10s"],
    [90_000, "1m30s"],
    [86_400_000, "1d"],
    [60_500, "1m500ms"],
  ])("formats %d ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("round-trips through parseDuration", () => {
    for (const ms of [1, 40, 999, 1000, 61_000, 3_600_000, 93_784_005, 0.25]) {
      expect(parseDuration(formatDuration(ms))).toBeCloseTo(ms, 6);
    }
  });
});
