import { describe, expect, it } from "vitest";
import type { CheckOutcome } from "./agent.js";
import { BACKOFF_JITTER, nextDelay } from "./backoff.js";

const MINUTE = 60_000;
const config = { pollMs: 5 * MINUTE, backoff: { initialMs: 30_000, maxMs: 60 * MINUTE } };
const retryable: CheckOutcome = { kind: "failed", reason: "connect ECONNREFUSED 127.0.0.1:8080", retryable: true };
const refused: CheckOutcome = { kind: "failed", reason: "the timestamp metadata has expired", retryable: false };
const middle = () => 0.5;

/** A deterministic sequence of numbers in [0, 1), spread over the range. */
function sequence(): () => number {
  let state = 12345;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("nextDelay", () => {
  it("doubles after each further retryable failure, from `initial`", () => {
    const delays = [1, 2, 3, 4, 5, 6].map((n) => nextDelay(config, retryable, n, middle));
    expect(delays).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 960_000]);
  });

  it("is never above `max`, however many failures, with any jitter", () => {
    const random = sequence();
    for (const failures of [7, 8, 12, 50, 1024, 1e6]) {
      for (let i = 0; i < 50; i++) expect(nextDelay(config, retryable, failures, random)).toBeLessThanOrEqual(config.backoff.maxMs);
    }
    // The highest jitter at 7 failures (30s·64 = 32 min, ·1.2 = 38.4 min) is under the bound; at 8 (64 min) the bound holds it.
    const highest7 = nextDelay(config, retryable, 7, () => 0.999_999);
    expect(highest7).toBeGreaterThan(38.39 * MINUTE);
    expect(highest7).toBeLessThanOrEqual(38.4 * MINUTE);
    expect(nextDelay(config, retryable, 8, () => 0)).toBe(60 * MINUTE * (1 - BACKOFF_JITTER));
    expect(nextDelay(config, retryable, 8, () => 0.999_999)).toBe(60 * MINUTE);
    expect(nextDelay(config, retryable, 1e6, middle)).toBe(60 * MINUTE);
    // A bound below `initial` caps the very first wait too.
    expect(nextDelay({ ...config, backoff: { initialMs: 10 * MINUTE, maxMs: MINUTE } }, retryable, 1, () => 0.999)).toBe(MINUTE);
  });

  it("falls back to the poll interval after a success, an idle check, a rollback or a non-retryable failure", () => {
    const outcomes: CheckOutcome[] = [
      { kind: "updated", version: "1.1.0", from: "1.0.0" },
      { kind: "idle", outcome: "up-to-date", version: "1.1.0" },
      { kind: "idle", outcome: "not-in-stage", version: "1.1.0" },
      { kind: "rolled-back", version: "1.2.0", reason: "health check failed: top ids differ" },
      refused,
    ];
    // However many failures the journal counted before (a success resets it to 0; a refusal does not back off).
    for (const outcome of outcomes) for (const failures of [0, 1, 5, 40]) expect(nextDelay(config, outcome, failures, () => 0.999), outcome.kind).toBe(config.pollMs);
    // After a run of failures, one success brings the poll interval back at once.
    expect(nextDelay(config, retryable, 6, middle)).toBe(960_000);
    expect(nextDelay(config, { kind: "updated", version: "1.1.0" }, 0, middle)).toBe(config.pollMs);
    expect(nextDelay(config, retryable, 1, middle)).toBe(30_000);
  });

  it("keeps the jitter within ±20% of the doubled delay, and uses the whole range", () => {
    const random = sequence();
    for (const failures of [1, 2, 3, 4, 5]) {
      const base = config.backoff.initialMs * 2 ** (failures - 1);
      const seen: number[] = [];
      for (let i = 0; i < 400; i++) seen.push(nextDelay(config, retryable, failures, random));
      const low = Math.min(...seen);
      const high = Math.max(...seen);
      expect(low).toBeGreaterThanOrEqual(Math.round(base * 0.8));
      expect(high).toBeLessThanOrEqual(Math.round(base * 1.2));
      // Spread, not stuck at one value: both ends of the range are approached.
      expect(low).toBeLessThan(base * 0.82);
      expect(high).toBeGreaterThan(base * 1.18);
      expect(seen.every(Number.isInteger)).toBe(true);
    }
    expect(nextDelay(config, retryable, 3, () => 0)).toBe(96_000);
    expect(nextDelay(config, retryable, 3, () => 0.999_999)).toBe(144_000);
  });

  it("treats a retryable failure with no failure counted yet as the first", () => {
    expect(nextDelay(config, retryable, 0, middle)).toBe(30_000);
  });
});
