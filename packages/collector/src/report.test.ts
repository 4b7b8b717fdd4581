/**
 * The wire format against the agent it carries events of: the schema's event
 * fields are exactly @slmops/agent's allow-list, and the checks a schema
 * cannot make. The agent's tests depend on this package (they send reports
 * to a real collector), so this one reads the agent's allow-list from its
 * source rather than depending on it back (turbo refuses a cycle).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import schema from "@slmops/schemas/collector-report.schema.json" with { type: "json" };
import { describe, expect, test } from "vitest";
import { canonicalJson, checkReport, REPORT_EVENTS } from "./report.js";
import { makeReport } from "./test-support/reports.js";

const agentEvents = readFileSync(fileURLToPath(new URL("../../agent/src/events.ts", import.meta.url)), "utf8");

/** The string literals of the array constant `name` in the agent's events.ts. */
function agentList(name: string): string[] {
  const match = new RegExp(`export const ${name}[^=]*=\\s*\\[([^\\]]*)\\]`).exec(agentEvents);
  if (!match?.[1]) throw new Error(`packages/agent/src/events.ts has no ${name} array`);
  return [...match[1].matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? "");
}

describe("the report format", () => {
  test("an event has exactly the fields of the agent's allow-list, and the agent's event names", () => {
    const fields = agentList("EVENT_FIELDS");
    const events = agentList("AGENT_EVENTS");
    expect(fields).toContain("reason");
    expect(Object.keys(schema.$defs.event.properties).sort()).toEqual([...fields].sort());
    expect([...REPORT_EVENTS]).toEqual(events);
    expect(schema.$defs.event.properties.event.enum).toEqual(events);
  });

  test("no object in the schema admits a property it does not list", () => {
    const objects: unknown[] = [schema, schema.$defs.event, schema.$defs.figures];
    for (const node of objects) expect((node as { additionalProperties?: unknown }).additionalProperties).toBe(false);
  });

  test("events as the agent writes them pass", () => {
    const fields = { device: "d1", deviceClass: "rpi5", model: "story-lm", channel: "stable" };
    const time = new Date().toISOString();
    const events = [
      { time, event: "active", ...fields, version: "1.3.0", from: "1.2.0", durationMs: 1234.6, loadMs: 80, latencyMs: 12.3 },
      { time, event: "failed", ...fields, version: "1.3.0", reason: `${"x".repeat(499)}…`, retryable: true, retryInMs: 5000 },
      { time, event: "idle", ...fields, outcome: "not-in-stage", version: "1.3.0", stage: 1, percent: 12.5 },
    ];
    const result = checkReport({ id: "0f8e2c1a-5b7d-4c3e-9a21-6d4f8b9e0c12", ...fields, sentAt: time, events });
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  test("normalizes times and the id, and digests the content whatever the key order", () => {
    const report = makeReport({ sentAt: "2026-12-02T15:00:05+01:00" });
    const a = checkReport(report);
    const b = checkReport(JSON.parse(canonicalJson({ ...report, id: report.id.toUpperCase() })));
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(a.report.sentAt).toBe("2026-12-02T14:00:05.000Z");
    expect(a.report.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(b.report.digest).toBe(a.report.digest);
    const c = checkReport({ ...report, sentAt: "2026-12-02T14:00:06.000Z" });
    expect(c.ok && c.report.digest).not.toBe(a.report.digest);
  });

  test("refuses more errors than inferences", () => {
    const report = makeReport();
    const result = checkReport({ ...report, figures: { ...report.figures, errors: 6 } });
    expect(result.ok ? [] : result.problems).toEqual([{ pointer: "/figures/errors", message: "is 6, more than the 5 inferences" }]);
  });

  test("refuses more than the maximum number of events", () => {
    const report = makeReport({ events: Array.from({ length: 101 }, () => ({ time: "2026-12-02T14:00:01.000Z", event: "checking" as const })) });
    const result = checkReport(report);
    expect(result.ok ? [] : result.problems).toEqual([{ pointer: "/events", message: "must NOT have more than 100 items" }]);
  });
});
