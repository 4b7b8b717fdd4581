/**
 * Whether a rollout goes on, from what the fleet reported — the abort rule of
 * AWS IoT Jobs' abort configuration: once at least `minDevices` devices have
 * acted on the release, a failure rate above `failureRate` aborts it. A
 * failure is a device that rolled the release back (its health check failed)
 * or failed it in a way a retry cannot fix; the rate is over the devices that
 * took it up. Field latency that breaks a latency limit the gate set for a
 * device class aborts it too, when that class has reported inferences.
 */
import { histogramQuantile } from "@slmops/latency-histogram";
import type { FleetStatus } from "./store.js";

export interface AbortRule {
  /** A fraction, e.g. 0.02 for 2%. */
  readonly failureRate: number;
  readonly minDevices: number;
}

/** A latency limit of the gate on one device class: `latency-p90 ≤ 250 ms`. */
export interface LatencyLimit {
  readonly deviceClass: string;
  readonly metric: "latency-p50" | "latency-p90" | "latency-p99";
  readonly maxMs: number;
}

export interface RolloutDecision {
  readonly abort: boolean;
  /** One sentence per reason to abort; empty to go on. */
  readonly reasons: readonly string[];
  /** Devices that took the release up, and of them the failed ones. */
  readonly devices: number;
  readonly failures: number;
  readonly failureRate: number | null;
  /** Whether enough devices reported for the failure rate to count. */
  readonly enoughDevices: boolean;
  readonly latency: readonly { readonly deviceClass: string; readonly metric: string; readonly fieldMs: number | null; readonly maxMs: number; readonly broken: boolean }[];
}

const QUANTILE = { "latency-p50": 0.5, "latency-p90": 0.9, "latency-p99": 0.99 } as const;

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

export function rolloutDecision(status: FleetStatus, rule: AbortRule | undefined, limits: readonly LatencyLimit[] = []): RolloutDecision {
  const devices = status.stages.reduce((sum, s) => sum + s.targeted, 0);
  const failures = status.stages.reduce((sum, s) => sum + s.rolledBack + s.failed, 0);
  const failureRate = devices > 0 ? failures / devices : null;
  const reasons: string[] = [];
  const enoughDevices = rule !== undefined && devices >= rule.minDevices;
  if (rule && enoughDevices && failureRate !== null && failureRate > rule.failureRate) {
    reasons.push(`${failures} of ${devices} devices failed the release (${percent(failureRate)}), above the abort rate of ${percent(rule.failureRate)} (at least ${rule.minDevices} devices reported)`);
  }
  const latency = limits.map((limit) => {
    const counts = status.figures.filter((f) => f.deviceClass === limit.deviceClass);
    const merged: number[] = [];
    for (const f of counts) f.latencyCounts.forEach((c, i) => (merged[i] = (merged[i] ?? 0) + c));
    const fieldMs = merged.length > 0 ? (histogramQuantile(QUANTILE[limit.metric], merged) ?? null) : null;
    const broken = fieldMs !== null && fieldMs > limit.maxMs;
    if (broken) reasons.push(`field ${limit.metric} on ${limit.deviceClass} is ${fieldMs.toFixed(1)} ms, above the gate's ${limit.maxMs} ms`);
    return { deviceClass: limit.deviceClass, metric: limit.metric, fieldMs, maxMs: limit.maxMs, broken };
  });
  return { abort: reasons.length > 0, reasons, devices, failures, failureRate, enoughDevices, latency };
}
