import { describe, expect, it } from "vitest";
import { formatSize, parseSize, SIZE_PATTERN, tryParseSize, UnitError } from "./index.js";

describe("parseSize", () => {
  it.each([
    ["123B", 123],
    ["0B", 0],
    ["100KB", 100_000],
    ["1.5GB", 1_500_000_000],
    ["512MiB", 512 * 1024 ** 2],
    ["2GiB", 2 * 1024 ** 3],
    ["1.5KiB", 1536],
    ["1.1GB", 1_100_000_000],
    ["4TiB", 4 * 1024 ** 4],
    ["1PB", 1e15],
  ])("reads %s as %d bytes", (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each([
    ["512 mb", "512MB"],
    ["512mb", "512MB"],
    ["512M", "512MiB"],
    ["512Mi", "512MiB"],
    ["2gib", "2GiB"],
    ["2 GiB", "2GiB"],
  ])("refuses %s and suggests %s", (text, suggestion) => {
    const result = tryParseSize(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(UnitError);
    expect(result.error.expected).toBe("size");
    expect(result.error.hint).toContain(`\`${suggestion}\``);
    expect(result.error.hint).toContain(`not \``);
  });

  it("refuses a bare number, asking for a unit", () => {
    expect(() => parseSize("123")).toThrow(/a unit is missing/u);
    const result = tryParseSize("123");
    expect(!result.ok && result.error.hint).toBe("write `123B` for bytes, or add a unit such as `123MiB`");
  });

  it.each([
    ["-1MiB", /cannot be negative/u],
    ["0.1KiB", /not a whole number of bytes/u],
    ["1.5B", /not a whole number of bytes/u],
    ["99999999999PiB", /too large/u],
    ["NaNMiB", /expected a size/u],
    ["InfinityGB", /expected a size/u],
    ["1e3MB", /`e3MB` is not a unit of size/u],
    ["", /empty string/u],
    [" 1MiB", /remove the surrounding spaces/u],
    ["1MiB ", /remove the surrounding spaces/u],
    ["012MiB", /`12MiB` is not a unit of size|is not a size/u],
  ])("refuses %s", (text, message) => {
    expect(() => parseSize(text)).toThrow(message);
  });

  it("refuses non-strings without throwing a TypeError", () => {
    const result = tryParseSize(42 as unknown as string);
    expect(result.ok).toBe(false);
  });

  it("agrees with SIZE_PATTERN on what is well-formed", () => {
    const pattern = new RegExp(SIZE_PATTERN, "u");
    for (const text of ["1B", "512MiB", "1.5GB", "0KiB"]) expect(pattern.test(text)).toBe(true);
    for (const text of ["512 MiB", "512mb", "123", "-1B", "1e3B", "01B"]) {
      expect(pattern.test(text)).toBe(false);
      expect(tryParseSize(text).ok).toBe(false);
    }
  });

  it("shortens a huge input in its message", () => {
    const result = tryParseSize("x".repeat(10_000));
    expect(!result.ok && result.error.message.length).toBeLessThan(200);
  });
});

describe("formatSize", () => {
  it.each([
    [0, "0B"],
    [1023, "1023B"],
    [1024, "1KiB"],
    [512 * 1024 ** 2, "512MiB"],
    [1.5 * 1024 ** 3, "1.5GiB"],
  ])("formats %d as %s", (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });

  it("formats decimal units on request and round-trips exact values", () => {
    expect(formatSize(1_500_000_000, { binary: false })).toBe("1.5GB");
    for (const bytes of [1, 2048, 3 * 1024 ** 3]) expect(parseSize(formatSize(bytes))).toBe(bytes);
    expect(parseSize(formatSize(100_000, { binary: false }))).toBe(100_000);
  });

  it("refuses negative and non-finite numbers", () => {
    expect(() => formatSize(-1)).toThrow(RangeError);
    expect(() => formatSize(Number.NaN)).toThrow(RangeError);
  });
});
