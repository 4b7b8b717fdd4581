import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { cohortThreshold, cohortValue, inCohort } from "./index.js";

/**
 * Statistical properties over deterministic inputs: fixed salts and the ids
 * `device-0` … `device-99999`. Nothing here is random from run to run.
 */
const N = 100_000;
const IDS = Array.from({ length: N }, (_, i) => `device-${i}`);
const SALT_A = "6b3a55e0261b4d6e0a4f0b8c2e7d9f11c5a8e3b7d2f4061928374655aabbccdd";
/** SALT_A with its last bit flipped: the nearest different salt. */
const SALT_B = "6b3a55e0261b4d6e0a4f0b8c2e7d9f11c5a8e3b7d2f4061928374655aabbccdc";
const SALT_C = createHash("sha256").update("another release", "utf8").digest("hex");

describe("distribution", () => {
  it("puts 10% ± 1% of 100,000 ids in every decile", () => {
    // A decile's count is Binomial(100000, 0.1): σ ≈ 95 ids (0.095%), so ±1%
    // (±1000 ids) is about 10σ; a biased or truncated hash misses it by far.
    const values = IDS.map((id) => cohortValue(SALT_A, id));
    const counts = new Array<number>(10).fill(0);
    for (const value of values) {
      const decile = Number((value * 10n) >> 64n);
      counts[decile] = (counts[decile] ?? 0) + 1;
    }
    for (const [decile, count] of counts.entries()) {
      expect(Math.abs(count / N - 0.1), `decile ${decile}: ${count}`).toBeLessThanOrEqual(0.01);
    }
    // The stages a plan would use: p% of the ids, within ±1%. (inCohort is
    // value < threshold; cohort.test.ts checks that they agree.)
    for (let p = 10; p <= 90; p += 10) {
      const threshold = cohortThreshold(p);
      const inStage = values.filter((value) => value < threshold).length;
      expect(Math.abs(inStage / N - p / 100), `${p}%: ${inStage}`).toBeLessThanOrEqual(0.01);
    }
  });
});

describe("monotonicity", () => {
  /** 60 increasing percentages, from deterministic hash bytes, with up to 6 decimals. */
  function increasingPercents(): string[] {
    const millionths = Array.from({ length: 58 }, (_, i) =>
      createHash("sha256").update(`percent-${i}`).digest().readUInt32BE(0) % 100_000_001,
    );
    return [0, ...millionths.sort((a, b) => a - b), 100_000_000].map((m) => (m / 1_000_000).toFixed(6));
  }

  it("never removes a device when the percentage rises", () => {
    const percents = increasingPercents();
    expect(percents).toHaveLength(60);
    for (const id of IDS.slice(0, 2_000)) {
      let wasIn = false;
      for (const p of percents) {
        const isIn = inCohort(SALT_A, id, p);
        expect(isIn || !wasIn, `${id} left the cohort at ${p}%`).toBe(true);
        wasIn = isIn;
      }
      expect(wasIn).toBe(true);
    }
  });

  it("keeps every stage of a plan inside the next", () => {
    const stages = [0.1, 1, 5, 12.5, 25, 50, 99.9, 100];
    const ids = IDS.slice(0, 20_000);
    let previous = new Set<string>();
    for (const p of stages) {
      const current = new Set(ids.filter((id) => inCohort(SALT_A, id, p)));
      for (const id of previous) expect(current.has(id), `${id} left at ${p}%`).toBe(true);
      expect(current.size).toBeGreaterThan(previous.size);
      previous = current;
    }
    expect(previous.size).toBe(ids.length);
  });

  it("has thresholds that never fall as the percentage rises, by the smallest step", () => {
    for (let m = 0; m < 100_000_000; m += 999_983) {
      const p = (m / 1_000_000).toFixed(6);
      const q = ((m + 1) / 1_000_000).toFixed(6);
      expect(cohortThreshold(q) > cohortThreshold(p), `${p} → ${q}`).toBe(true);
    }
  });
});

describe("independence", () => {
  it("gives two salts' 10% cohorts an overlap of 1% ± 5σ", () => {
    // If the cohorts are independent, each id is in both with probability
    // 0.1 × 0.1 = 0.01, so the overlap is Binomial(100000, 0.01): mean 1000,
    // σ = √(100000 × 0.01 × 0.99) ≈ 31.5. ±5σ is ±157 ids: [843, 1157].
    // The same salt would overlap by 10,000; a salt one bit away, if the
    // hash mixed badly, by far more than 1157.
    const cohort = (salt: string) => new Set(IDS.filter((id) => inCohort(salt, id, 10)));
    const a = cohort(SALT_A);
    for (const [name, salt] of [["one bit away", SALT_B], ["unrelated", SALT_C]] as const) {
      const other = cohort(salt);
      const overlap = [...a].filter((id) => other.has(id)).length;
      expect(Math.abs(overlap - 1000), `${name}: overlap ${overlap}`).toBeLessThanOrEqual(157);
      expect(Math.abs(other.size - 10_000), `${name}: cohort of ${other.size}`).toBeLessThanOrEqual(1000);
    }
  });
});
