/** Reports for tests and the load harness, valid unless told otherwise. */
import { randomUUID } from "node:crypto";
import { LatencyHistogram } from "@slmops/latency-histogram";
import { LATENCY_BUCKETS_MS, type CollectorReport, type ReportEvent } from "../report.js";

export interface ReportShape {
  readonly device?: string;
  readonly deviceClass?: string;
  readonly model?: string;
  readonly channel?: string;
  readonly id?: string;
  readonly sentAt?: string;
  /** Events without the device fields (added from the report's). */
  readonly events?: readonly Omit<ReportEvent, "device" | "deviceClass" | "model" | "channel">[];
  readonly figures?: CollectorReport["figures"] | null;
}

/** Counts with these latencies (ms) put into the fixed buckets. */
export function latencyCounts(latencies: readonly number[]): number[] {
  const histogram = new LatencyHistogram();
  for (const latency of latencies) histogram.record(latency);
  return histogram.counts();
}

export function makeReport(shape: ReportShape = {}): CollectorReport {
  const device = shape.device ?? "rpi5-0001";
  const deviceClass = shape.deviceClass ?? "rpi5";
  const model = shape.model ?? "story-lm";
  const channel = shape.channel ?? "stable";
  const events = (shape.events ?? [{ time: "2026-12-02T14:00:01.000Z", event: "active", version: "1.3.0", from: "1.2.0", stage: 0, durationMs: 4210, loadMs: 812, latencyMs: 38.5 }]).map(
    (event) => ({ ...event, device, deviceClass, model, channel }) as ReportEvent,
  );
  const counts = latencyCounts([15, 30, 40, 45, 80]);
  const figures =
    shape.figures === null
      ? undefined
      : (shape.figures ?? { release: "1.3.0", loadMs: 812, latencyBucketsMs: [...LATENCY_BUCKETS_MS], latencyCounts: counts, inferences: 5, errors: 0, memoryBytes: 412_000_000 });
  return {
    id: shape.id ?? randomUUID(),
    device,
    deviceClass,
    model,
    channel,
    sentAt: shape.sentAt ?? "2026-12-02T14:00:05.000Z",
    events,
    ...(figures ? { figures } : {}),
  };
}
