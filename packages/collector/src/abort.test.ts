import { describe, expect, it } from "vitest";
import { rolloutDecision } from "./abort.js";
import { LATENCY_BUCKETS_MS } from "./report.js";
import type { FleetStatus, StageStatus } from "./store.js";

function stage(targeted: number, rolledBack: number, failed = 0, deviceClass = "rpi5"): StageStatus {
  return { model: "story-lm", channel: "stable", release: "1.1.0", stage: 0, deviceClass, targeted, updated: targeted - rolledBack - failed, healthy: targeted - rolledBack - failed, rolledBack, failed, failureEvents: rolledBack + failed };
}

/** A histogram with every inference in the bucket whose upper bound is `ms`. */
function figures(deviceClass: string, ms: number, inferences: number): FleetStatus["figures"][number] {
  const counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  counts[LATENCY_BUCKETS_MS.indexOf(ms)] = inferences;
  return { model: "story-lm", channel: "stable", release: "1.1.0", deviceClass, devices: 3, reports: 3, inferences, errors: 0, latencyCounts: counts };
}

const rule = { failureRate: 0.05, minDevices: 20 };

describe("rolloutDecision (the abort rule of AWS IoT Jobs' abort configuration)", () => {
  it("aborts when the failure rate is above the rule once enough devices reported, and not before", () => {
    const few = rolloutDecision({ stages: [stage(10, 5)], figures: [] }, rule);
    expect(few).toMatchObject({ abort: false, devices: 10, failures: 5, failureRate: 0.5, enoughDevices: false });
    const many = rolloutDecision({ stages: [stage(15, 1), stage(10, 1, 1, "nuc")], figures: [] }, rule);
    expect(many).toMatchObject({ abort: true, devices: 25, failures: 3, enoughDevices: true });
    expect(many.reasons).toEqual(["3 of 25 devices failed the release (12.0%), above the abort rate of 5.0% (at least 20 devices reported)"]);
  });

  it("goes on at exactly the rate (above, not at), and without a rule", () => {
    expect(rolloutDecision({ stages: [stage(20, 1)], figures: [] }, rule).abort).toBe(false); // 5.0% = the rate
    expect(rolloutDecision({ stages: [stage(20, 2)], figures: [] }, rule).abort).toBe(true);
    expect(rolloutDecision({ stages: [stage(20, 20)], figures: [] }, undefined).abort).toBe(false);
  });

  it("aborts when field latency on a device class breaks the gate's limit, from the merged histogram", () => {
    const status: FleetStatus = { stages: [stage(30, 0)], figures: [figures("rpi5", 500, 100), figures("nuc", 20, 100)] };
    const d = rolloutDecision(status, rule, [
      { deviceClass: "rpi5", metric: "latency-p90", maxMs: 250 },
      { deviceClass: "nuc", metric: "latency-p90", maxMs: 250 },
      { deviceClass: "jetson", metric: "latency-p90", maxMs: 250 },
    ]);
    expect(d.abort).toBe(true);
    expect(d.reasons).toHaveLength(1);
    expect(d.reasons[0]).toMatch(/^field latency-p90 on rpi5 is [\d.]+ ms, above the gate's 250 ms$/);
    expect(d.latency.map((l) => [l.deviceClass, l.broken])).toEqual([["rpi5", true], ["nuc", false], ["jetson", false]]);
    expect(d.latency[2]?.fieldMs).toBeNull(); // no inferences reported: no judgement
  });
});
