/**
 * The collector's Prometheus metrics (prom-client), on a registry of its own
 * per collector (two in one process do not mix). Counters are this
 * process's; a fleet behind a load balancer sums them across collectors.
 * The device gauge is read from the database at each scrape, so every
 * collector reports the whole fleet: take it from one (`max by`).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { CheckedReport } from "./report.js";
import { REPORT_EVENTS } from "./report.js";
import type { CollectorStore } from "./store.js";

/** Why a request was refused: the `reason` label, and the `error.code` of the response body. */
export const REFUSAL_REASONS = [
  "unauthenticated", "revoked", "device-mismatch", "rate-limited", "too-large", "unsupported-media-type", "malformed-json", "invalid-report", "conflict", "not-found",
  "method-not-allowed", "unavailable",
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export class CollectorMetrics {
  readonly registry = new Registry();
  readonly accepted: Counter<"result">;
  readonly refused: Counter<"reason">;
  readonly events: Counter<"event">;
  readonly inferences: Counter<"model" | "channel" | "release" | "device_class">;
  readonly errors: Counter<"model" | "channel" | "release" | "device_class">;
  readonly ingestSeconds: Histogram<"outcome">;

  constructor(store: CollectorStore, options: { readonly processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.accepted = new Counter({ name: "slmops_collector_reports_accepted_total", help: "Reports answered 2xx: stored now, or a retry of one stored before (not counted twice).", labelNames: ["result"], registers });
    for (const result of ["stored", "duplicate"]) this.accepted.inc({ result }, 0);
    this.refused = new Counter({ name: "slmops_collector_reports_refused_total", help: "Requests to /v1/reports refused, by reason (nothing stored).", labelNames: ["reason"], registers });
    for (const reason of REFUSAL_REASONS) this.refused.inc({ reason }, 0);
    this.events = new Counter({ name: "slmops_collector_events_stored_total", help: "Agent events stored, by event.", labelNames: ["event"], registers });
    for (const event of REPORT_EVENTS) this.events.inc({ event }, 0);
    const figureLabels = ["model", "channel", "release", "device_class"] as const;
    this.inferences = new Counter({ name: "slmops_collector_field_inferences_total", help: "Inferences the devices reported, by release and device class.", labelNames: figureLabels, registers });
    this.errors = new Counter({ name: "slmops_collector_field_errors_total", help: "Failed inferences the devices reported, by release and device class.", labelNames: figureLabels, registers });
    this.ingestSeconds = new Histogram({
      name: "slmops_collector_ingest_duration_seconds",
      help: "Time from a request's arrival to its answer, stored in the database included.",
      labelNames: ["outcome"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    new Gauge({
      name: "slmops_collector_devices",
      help: "Devices by model, channel, the release they run (empty: none known) and their last transition, from the database.",
      labelNames: ["model", "channel", "release", "state"],
      registers,
      async collect() {
        this.reset();
        try {
          for (const row of await store.deviceStates()) this.set({ model: row.model, channel: row.channel, release: row.release, state: row.state }, row.devices);
        } catch {
          // The database is unreachable: /healthz says so; the scrape still answers with what this process knows.
        }
      },
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "slmops_collector_" });
  }

  stored(report: CheckedReport): void {
    this.accepted.inc({ result: "stored" });
    for (const event of report.events) this.events.inc({ event: event.event });
    const f = report.figures;
    if (f) {
      const labels = { model: report.model, channel: report.channel, release: f.release, device_class: report.deviceClass };
      this.inferences.inc(labels, f.inferences);
      this.errors.inc(labels, f.errors);
    }
  }
}
