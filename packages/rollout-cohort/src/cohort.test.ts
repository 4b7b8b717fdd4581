import { describe, expect, it } from "vitest";
import { ConfigurationError } from "@slmops/diagnostics";
import {
  cohortThreshold,
  cohortValue,
  deviceIdBytes,
  inCohort,
  MAX_DEVICE_ID_BYTES,
  newCohortSalt,
  parseCohortPercent,
} from "./index.js";

const SALT = "00".repeat(32);
const TWO_TO_64 = 2n ** 64n;

describe("parseCohortPercent", () => {
  it("reads numbers and decimal strings exactly, without trailing zeros", () => {
    expect(parseCohortPercent(12.5)).toEqual({ numerator: 125n, decimals: 1, text: "12.5" });
    expect(parseCohortPercent("12.50")).toEqual({ numerator: 125n, decimals: 1, text: "12.5" });
    expect(parseCohortPercent(0.1)).toEqual({ numerator: 1n, decimals: 1, text: "0.1" });
    expect(parseCohortPercent("99.9")).toEqual({ numerator: 999n, decimals: 1, text: "99.9" });
    expect(parseCohortPercent(100)).toEqual({ numerator: 100n, decimals: 0, text: "100" });
    expect(parseCohortPercent("100.000")).toEqual({ numerator: 100n, decimals: 0, text: "100" });
    expect(parseCohortPercent(0)).toEqual({ numerator: 0n, decimals: 0, text: "0" });
    expect(parseCohortPercent(-0)).toEqual({ numerator: 0n, decimals: 0, text: "0" });
    expect(parseCohortPercent("0.000001")).toEqual({ numerator: 1n, decimals: 6, text: "0.000001" });
  });

  it.each([
    [-1, "from 0 to 100"],
    [100.1, "more than 100"],
    ["100.000001", "more than 100"],
    [1e-7, "at most 6 digits"],
    ["0.0000001", "at most 6 digits"],
    ["12.5%", "is not a rollout percentage"],
    [" 5", "is not a rollout percentage"],
    ["05", "is not a rollout percentage"],
    ["5.", "is not a rollout percentage"],
    ["", "is not a rollout percentage"],
    [Number.NaN, "is not a rollout percentage"],
    [Number.POSITIVE_INFINITY, "is not a rollout percentage"],
  ])("refuses %j with one clear ConfigurationError", (value, message) => {
    expect(() => parseCohortPercent(value)).toThrow(ConfigurationError);
    expect(() => parseCohortPercent(value)).toThrow(message);
  });

  it("refuses what is neither a number nor a string", () => {
    expect(() => parseCohortPercent(null as unknown as string)).toThrow(ConfigurationError);
  });
});

describe("cohortThreshold", () => {
  it("is exact at the percentages a plan uses", () => {
    expect(cohortThreshold(0)).toBe(0n);
    expect(cohortThreshold(100)).toBe(TWO_TO_64);
    expect(cohortThreshold(50)).toBe(2n ** 63n);
    expect(cohortThreshold(25)).toBe(2n ** 62n);
    expect(cohortThreshold("12.5")).toBe(2n ** 61n);
    // 2^64 / 20 and 2^64 / 1000 are not whole: the threshold is the next integer up.
    expect(cohortThreshold(5)).toBe(TWO_TO_64 / 20n + 1n);
    expect(cohortThreshold(0.1)).toBe(TWO_TO_64 / 1000n + 1n);
    expect(cohortThreshold(99.9)).toBe((999n * TWO_TO_64) / 1000n + 1n);
  });

  it("reads a hand-made percentage again, so an impossible one is refused", () => {
    expect(() => cohortThreshold({ numerator: 101n, decimals: 0, text: "101" })).toThrow(ConfigurationError);
  });
});

describe("inputs", () => {
  it("refuses a salt that is not 64 lowercase hex characters, without repeating it", () => {
    for (const salt of ["AB".repeat(32), "0".repeat(63), "0".repeat(66), "zz".repeat(32), ""]) {
      const run = () => cohortValue(salt, "device-1");
      expect(run).toThrow(ConfigurationError);
      expect(run).toThrow("64 lowercase hexadecimal characters (32 bytes)");
      try {
        run();
      } catch (error) {
        if (salt) expect((error as Error).message).not.toContain(salt);
      }
    }
  });

  it("takes a device id as its UTF-8 bytes, bounded", () => {
    expect(deviceIdBytes("ünï-設備")).toEqual(Buffer.from([0xc3, 0xbc, 0x6e, 0xc3, 0xaf, 0x2d, 0xe8, 0xa8, 0xad, 0xe5, 0x82, 0x99]));
    expect(deviceIdBytes("x".repeat(MAX_DEVICE_ID_BYTES)).length).toBe(MAX_DEVICE_ID_BYTES);
    expect(() => deviceIdBytes("x".repeat(MAX_DEVICE_ID_BYTES + 1))).toThrow("at most 256 bytes of UTF-8; this one is 257");
    // 86 three-byte characters are 258 bytes though only 86 UTF-16 units.
    expect(() => deviceIdBytes("設".repeat(86))).toThrow("this one is 258");
  });

  it.each([
    ["", "non-empty"],
    ["device-1\n", "control characters"],
    ["dev\tice", "control characters"],
    [" device-1", "whitespace"],
    ["device-1\u00a0", "whitespace"],
    ["device-\ud800", "unpaired surrogate"],
  ])("refuses the device id %j", (id, message) => {
    expect(() => inCohort(SALT, id, 50)).toThrow(ConfigurationError);
    expect(() => inCohort(SALT, id, 50)).toThrow(message);
  });

  it("makes fresh salts that it accepts", () => {
    const a = newCohortSalt();
    const b = newCohortSalt();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
    expect(() => cohortValue(a, "device-1")).not.toThrow();
  });
});

describe("inCohort", () => {
  it("takes nobody at 0 and everybody at 100", () => {
    for (let i = 0; i < 500; i++) {
      expect(inCohort(SALT, `device-${i}`, 0)).toBe(false);
      expect(inCohort(SALT, `device-${i}`, 100)).toBe(true);
    }
  });

  it("agrees with value < threshold and with the number and string forms", () => {
    for (let i = 0; i < 500; i++) {
      const id = `device-${i}`;
      const value = cohortValue(SALT, id);
      for (const p of ["0.1", "5", "12.5", "33.333333", "50", "99.9"]) {
        const expected = value < cohortThreshold(p);
        expect(inCohort(SALT, id, p)).toBe(expected);
        expect(inCohort(SALT, id, Number(p))).toBe(expected);
        expect(inCohort(SALT, id, parseCohortPercent(p))).toBe(expected);
      }
    }
  });
});
