import { describe, expect, it } from "vitest";
import { createRandom } from "./random.js";
import { compareSamples, compareValues, MIN_SAMPLES, type CheckOutcome, type RegressionOptions } from "./regression.js";
import { latencySamples, REALISTIC_NOISE } from "./test-support/latency.js";

const GATE: RegressionOptions = { metric: "decode-latency-p50", direction: "lower-is-better", allowed: 0.05, confidence: 0.95, quantile: 0.5 };
const TRIALS = 1000;
const SAMPLES = 200;

/** Runs the gate on `TRIALS` independent simulated benchmark pairs. */
function simulate(slowdown: number, seed: string): Record<CheckOutcome, number> {
  const random = createRandom(seed);
  const counts: Record<CheckOutcome, number> = { pass: 0, fail: 0, inconclusive: 0 };
  for (let t = 0; t < TRIALS; t++) {
    const baseline = latencySamples(random, SAMPLES, REALISTIC_NOISE);
    const candidate = latencySamples(random, SAMPLES, REALISTIC_NOISE, slowdown);
    counts[compareSamples(baseline, candidate, GATE).outcome]++;
  }
  return counts;
}

describe("regression gate by simulation (max-increase 5%, confidence 0.95, 200 samples, log-normal + outliers)", { timeout: 60_000 }, () => {
  it("A/A: identical distributions fail in at most 1% of 1,000 trials", () => {
    const counts = simulate(0, "a/a");
    expect(counts.fail / TRIALS).toBeLessThanOrEqual(0.01);
    expect(counts.pass / TRIALS).toBeGreaterThanOrEqual(0.95);
  });

  it("a 10% slowdown fails in at least 95% of 1,000 trials", () => {
    const counts = simulate(0.1, "slow-10");
    expect(counts.fail / TRIALS).toBeGreaterThanOrEqual(0.95);
    expect(counts.pass).toBe(0);
  });

  it("a slowdown right at the limit (5%) is mostly inconclusive, rarely decided either way", () => {
    const counts = simulate(0.05, "slow-5");
    expect(counts.inconclusive / TRIALS).toBeGreaterThanOrEqual(0.8);
    expect(counts.fail / TRIALS).toBeLessThanOrEqual(0.06);
    expect(counts.pass / TRIALS).toBeLessThanOrEqual(0.06);
  });

  it("a 10% speed-up passes", () => {
    const counts = simulate(-0.1, "fast-10");
    expect(counts.pass).toBe(TRIALS);
  });
});

describe("compareSamples", () => {
  const random = createRandom("fixed");
  const baseline = latencySamples(random, 300, REALISTIC_NOISE);
  const candidate = latencySamples(random, 300, REALISTIC_NOISE, 0.2);

  it("is deterministic for the same inputs", () => {
    const a = compareSamples(baseline, candidate, GATE);
    const b = compareSamples([...baseline], [...candidate], GATE);
    expect(b).toEqual(a);
    expect(a.outcome).toBe("fail");
    expect(a.lower).toBeGreaterThan(0.05);
    expect(a.lower).toBeLessThanOrEqual(a.change);
    expect(a.change).toBeLessThanOrEqual(a.upper);
    expect(a.message).toMatch(/exceeds the allowed \+5\.00% increase/);
  });

  it("reads higher-is-better metrics the other way round", () => {
    const throughputBase = baseline.map((ms) => 1000 / ms);
    const throughputCand = candidate.map((ms) => 1000 / ms);
    const result = compareSamples(throughputBase, throughputCand, { ...GATE, metric: "tokens-per-second", direction: "higher-is-better" });
    expect(result.outcome).toBe("fail");
    expect(result.upper).toBeLessThan(-0.05);
    expect(compareSamples(throughputCand, throughputBase, { ...GATE, metric: "tokens-per-second", direction: "higher-is-better" }).outcome).toBe("pass");
  });

  it("says inconclusive, with advice, when there are too few samples", () => {
    const result = compareSamples(baseline.slice(0, MIN_SAMPLES - 1), candidate, GATE);
    expect(result.outcome).toBe("inconclusive");
    expect(result.advice).toMatch(/more iterations/);
  });

  it("gives advice to rerun when the interval straddles the limit", () => {
    const slightly = latencySamples(createRandom("s"), 60, REALISTIC_NOISE);
    const result = compareSamples(slightly, slightly.map((x) => x * 1.05), GATE);
    expect(result.outcome).toBe("inconclusive");
    expect(result.lower).toBeLessThan(0.05);
    expect(result.upper).toBeGreaterThan(0.05);
    expect(result.advice).toMatch(/rerun/);
  });

  it("refuses invalid samples", () => {
    expect(() => compareSamples([...baseline, Number.NaN], candidate, GATE)).toThrow(/baseline samples has an invalid value at index 300/);
    expect(() => compareSamples(baseline, [...candidate, -1], GATE)).toThrow(/candidate samples/);
    expect(() => compareSamples(baseline, candidate, { ...GATE, confidence: 1 })).toThrow(/confidence/);
  });
});

describe("compareValues", () => {
  it("compares exact values against the allowed change", () => {
    expect(compareValues(100, 104, GATE).outcome).toBe("pass");
    expect(compareValues(100, 106, GATE).outcome).toBe("fail");
    expect(compareValues(0.9, 0.8, { ...GATE, direction: "higher-is-better" }).outcome).toBe("fail");
    expect(compareValues(0.9, 0.88, { ...GATE, direction: "higher-is-better" }).outcome).toBe("pass");
  });
});
