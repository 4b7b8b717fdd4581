/**
 * The collector over real HTTP on loopback, against SQLite and PostgreSQL:
 * what it stores and what it refuses, with the status code, a JSON error
 * body, and the rows counted afterwards (a refusal stores nothing).
 */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, test } from "vitest";
import type { CollectorStore } from "./store.js";
import { startCollector, type Collector, type CollectorOptions } from "./server.js";
import { BACKENDS, useBackend, type Database } from "./test-support/backends.js";
import { metricsOf, post, rawRequest, sample, sendReport } from "./test-support/http.js";
import { makeReport } from "./test-support/reports.js";
import { issueToken, newToken } from "./tokens.js";

const DEVICE = "rpi5-0001";

describe.each(BACKENDS)("the collector on $name", ({ name, skip }) => {
  describe.skipIf(skip)("", () => {
    const backend = useBackend(name);
    const running: Collector[] = [];
    afterEach(async () => {
      await Promise.all(running.splice(0).map((c) => c.close()));
    });

    async function setUp(options: Partial<CollectorOptions> = {}): Promise<{ db: Database; store: CollectorStore; collector: Collector; token: string }> {
      const db = await backend.fresh();
      const token = await issueToken(db.store, DEVICE);
      const collector = await startCollector({ store: db.store, rateLimit: false, processMetrics: false, log: () => undefined, ...options });
      running.push(collector);
      return { db, store: db.store, collector, token };
    }

    const errorCode = (body: unknown): unknown => (body as { error?: { code?: unknown } }).error?.code;

    test("stores an accepted report (202) with its events and figures", async () => {
      const { store, collector, token } = await setUp();
      const report = makeReport({ device: DEVICE });
      const answer = await sendReport(collector.url, token, report);
      expect(answer).toMatchObject({ status: 202, body: { status: "stored", id: report.id } });
      expect(await store.counts()).toEqual({ reports: 1, events: 1, devices: 1, tokens: 1 });
      const status = await store.fleetStatus();
      expect(status.stages).toEqual([expect.objectContaining({ release: "1.3.0", deviceClass: "rpi5", targeted: 1, updated: 1, healthy: 1 })]);
      expect(status.figures).toEqual([expect.objectContaining({ release: "1.3.0", inferences: 5, devices: 1 })]);
    });

    test("a report sent twice is stored once: the retry answers 200 already stored; other content under the id is 409", async () => {
      const { store, collector, token } = await setUp();
      const report = makeReport({ device: DEVICE });
      expect((await sendReport(collector.url, token, report)).status).toBe(202);
      const retry = await sendReport(collector.url, token, report);
      expect(retry).toMatchObject({ status: 200, body: { status: "already stored", id: report.id } });
      const altered = { ...report, events: [] };
      const conflict = await sendReport(collector.url, token, altered);
      expect(conflict.status).toBe(409);
      expect(conflict.body).toMatchObject({ error: { code: "conflict", message: expect.stringContaining(report.id) } });
      expect(await store.counts()).toMatchObject({ reports: 1, events: 1 });
      expect((await store.fleetStatus()).figures[0]?.inferences).toBe(5);
    });

    test("refuses malformed reports (400 bad JSON or UTF-8, 422 schema) and stores none of them", async () => {
      const { store, collector, token } = await setUp();
      const auth = { authorization: `Bearer ${token}` };
      const bad = await post(collector.url, '{"id": ', auth);
      expect(bad).toMatchObject({ status: 400, body: { error: { code: "malformed-json", message: expect.stringMatching(/not valid JSON/) } } });
      expect((await post(collector.url, new Uint8Array([0x7b, 0xff, 0x7d]), auth)).body).toMatchObject({ error: { code: "malformed-json", message: "the body is not valid UTF-8" } });
      const report = makeReport({ device: DEVICE });
      const cases: [string, unknown, RegExp][] = [
        ["a missing field", { ...report, sentAt: undefined }, /required field "sentAt"/],
        ["a prompt beside the report", { ...report, prompt: "tell me a story" }, /"prompt" is not a field/],
        ["an output in an event", { ...report, events: [{ ...report.events[0], output: "once upon a time" }] }, /"output" is not a field/],
        ["a prompt in the figures", { ...report, figures: { ...report.figures, prompts: ["hi"] } }, /"prompts" is not a field/],
        ["an unknown event", { ...report, events: [{ ...report.events[0], event: "exploded" }] }, /must be one of/],
        ["other buckets", { ...report, figures: { ...report.figures, latencyBucketsMs: [1, 10, 100] } }, /must be exactly/],
        ["counts that do not add up", { ...report, figures: { ...report.figures, inferences: 6 } }, /latency counts add up to 5/],
        ["another device's event", { ...report, events: [{ ...report.events[0], device: "rpi5-0002" }] }, /the report is of device/],
        ["a time that is not one", { ...report, sentAt: "2026-13-45T99:00:00Z" }, /not a valid date/],
        ["an id that is not a UUID", { ...report, id: "1" }, /must match pattern/],
        ["an array", [report], /must be object/],
      ];
      for (const [what, body, message] of cases) {
        const answer = await sendReport(collector.url, token, body);
        expect(answer.status, what).toBe(422);
        expect(errorCode(answer.body), what).toBe("invalid-report");
        const error = (answer.body as { error: { message: string; problems?: { pointer: string; message: string }[] } }).error;
        expect([error.message, ...(error.problems ?? []).map((p) => `${p.pointer} ${p.message}`)].join("\n"), what).toMatch(message);
      }
      expect(await store.counts()).toMatchObject({ reports: 0, events: 0, devices: 0 });
    });

    test("refuses the unauthenticated (401), revoked tokens (403) and another device's token (403), storing nothing", async () => {
      const { store, collector, token } = await setUp();
      const report = makeReport({ device: DEVICE });
      const none = await sendReport(collector.url, undefined, report);
      expect(none).toMatchObject({ status: 401, body: { error: { code: "unauthenticated" } } });
      expect(none.headers.get("www-authenticate")).toMatch(/^Bearer /);
      expect((await sendReport(collector.url, newToken(), report)).status).toBe(401);
      expect((await sendReport(collector.url, "not-a-token", report)).status).toBe(401);
      expect((await sendReport(collector.url, undefined, report, { authorization: `Basic ${Buffer.from(`x:${token}`).toString("base64")}` })).status).toBe(401);

      const other = await issueToken(store, "rpi5-0002");
      const mismatch = await sendReport(collector.url, other, report);
      expect(mismatch).toMatchObject({ status: 403, body: { error: { code: "device-mismatch" } } });

      expect(await store.revokeTokens(DEVICE)).toBe(1);
      const revoked = await sendReport(collector.url, token, report);
      expect(revoked).toMatchObject({ status: 403, body: { error: { code: "revoked", message: expect.stringContaining("revoked"), hint: expect.stringContaining("token add") } } });
      expect(await store.counts()).toMatchObject({ reports: 0, events: 0 });
      // A new token for the device works at once.
      expect((await sendReport(collector.url, await issueToken(store, DEVICE), report)).status).toBe(202);
    });

    test("refuses what is not JSON (415)", async () => {
      const { store, collector, token } = await setUp();
      const report = JSON.stringify(makeReport({ device: DEVICE }));
      for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1"]) {
        const answer = await post(collector.url, report, { authorization: `Bearer ${token}`, "content-type": type });
        expect(answer.status, type).toBe(415);
        expect(errorCode(answer.body)).toBe("unsupported-media-type");
      }
      expect((await post(collector.url, report, { authorization: `Bearer ${token}`, "content-type": "application/json; charset=utf-8" })).status).toBe(202);
      expect((await store.counts()).reports).toBe(1);
    });

    test("refuses an oversized report (413) before reading past the limit, declared or streamed", async () => {
      const { store, collector, token } = await setUp({ maxBodyBytes: 16 * 1024 });
      const head = (length: string): string =>
        `POST /v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n${length}\r\n`;
      const chunk = Buffer.alloc(4096, 0x20);
      // Declared too large: refused on the headers, before any of the body is sent.
      const declared = await rawRequest(collector.url, head("Content-Length: 104857600\r\n"), Array.from({ length: 100 }, () => chunk), 20);
      expect(declared.statusLine).toBe("HTTP/1.1 413 Payload Too Large");
      expect(declared.text).toContain('"code":"too-large"');
      expect(declared.bytesWritten).toBeLessThan(16 * 1024);
      // Chunked, no length: refused once the body passes the limit; the connection is closed, not read further.
      const chunked = (function* () {
        for (let i = 0; i < 2000; i++) yield Buffer.from(`1000\r\n${chunk.toString()}\r\n`);
      })();
      const streamed = await rawRequest(collector.url, head("Transfer-Encoding: chunked\r\n"), chunked, 2);
      expect(streamed.statusLine).toBe("HTTP/1.1 413 Payload Too Large");
      expect(streamed.bytesWritten).toBeLessThan(2000 * 4096);
      // Just under the limit is fine.
      const big = makeReport({ device: DEVICE, events: Array.from({ length: 30 }, (_, i) => ({ time: "2026-12-02T14:00:01.000Z", event: "failed" as const, version: "1.3.0", reason: `disk ${i} `.padEnd(400, "x"), retryable: true })) });
      expect(Buffer.byteLength(JSON.stringify(big))).toBeGreaterThan(16 * 1024);
      expect((await sendReport(collector.url, token, big)).status).toBe(413);
      expect(await store.counts()).toMatchObject({ reports: 0, events: 0 });
    });

    test("limits each device's rate (429 with Retry-After), and other devices are not affected", async () => {
      const { store, collector, token } = await setUp({ rateLimit: { burst: 3, perMinute: 6 } });
      for (let i = 0; i < 3; i++) expect((await sendReport(collector.url, token, makeReport({ device: DEVICE }))).status).toBe(202);
      const limited = await sendReport(collector.url, token, makeReport({ device: DEVICE }));
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(10);
      expect(errorCode(limited.body)).toBe("rate-limited");
      const other = await issueToken(store, "rpi5-0002");
      expect((await sendReport(collector.url, other, makeReport({ device: "rpi5-0002" }))).status).toBe(202);
      expect((await store.counts()).reports).toBe(4);
    });

    test("/metrics exposes the counters, and they move; /healthz answers; unknown paths and methods are refused", async () => {
      const { store, collector, token } = await setUp();
      const before = await metricsOf(collector.url);
      expect(sample(before, "slmops_collector_reports_accepted_total", { result: "stored" })).toBe(0);
      expect(before).toContain("# TYPE slmops_collector_reports_refused_total counter");
      expect(before).toContain("# TYPE slmops_collector_ingest_duration_seconds histogram");
      const report = makeReport({ device: DEVICE });
      await sendReport(collector.url, token, report);
      await sendReport(collector.url, token, report);
      await sendReport(collector.url, undefined, report);
      await sendReport(collector.url, token, { ...report, id: randomUUID(), prompt: "x" });
      const after = await metricsOf(collector.url);
      expect(sample(after, "slmops_collector_reports_accepted_total", { result: "stored" })).toBe(1);
      expect(sample(after, "slmops_collector_reports_accepted_total", { result: "duplicate" })).toBe(1);
      expect(sample(after, "slmops_collector_reports_refused_total", { reason: "unauthenticated" })).toBe(1);
      expect(sample(after, "slmops_collector_reports_refused_total", { reason: "invalid-report" })).toBe(1);
      expect(sample(after, "slmops_collector_events_stored_total", { event: "active" })).toBe(1);
      expect(sample(after, "slmops_collector_field_inferences_total", { release: "1.3.0", device_class: "rpi5" })).toBe(5);
      expect(sample(after, "slmops_collector_ingest_duration_seconds_count", { outcome: "accepted" })).toBe(2);
      expect(sample(after, "slmops_collector_ingest_duration_seconds_count", { outcome: "refused" })).toBe(2);
      expect(sample(after, "slmops_collector_devices", { model: "story-lm", release: "1.3.0", state: "active" })).toBe(1);

      expect(await (await fetch(`${collector.url}/healthz`)).json()).toEqual({ status: "ok", store: name });
      const missing = await fetch(`${collector.url}/v2/reports`);
      expect(missing.status).toBe(404);
      expect((await missing.json()) as unknown).toMatchObject({ error: { code: "not-found" } });
      const wrong = await fetch(`${collector.url}/v1/reports`);
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get("allow")).toBe("POST");
      expect((await store.counts()).reports).toBe(1);
    });

    test("answers 503 with Retry-After when its database is gone, and /healthz says so", async () => {
      const { store, collector, token } = await setUp();
      await store.close();
      const answer = await sendReport(collector.url, token, makeReport({ device: DEVICE }));
      expect(answer).toMatchObject({ status: 503, body: { error: { code: "unavailable" } } });
      expect(answer.headers.get("retry-after")).toBe("5");
      expect((await fetch(`${collector.url}/healthz`)).status).toBe(503);
    });

    test("two collectors on one database see each other's reports, and a retry to the other one is not counted twice", async () => {
      const { db, collector: a, token } = await setUp();
      const otherStore = db.another();
      await otherStore.migrate();
      const b = await startCollector({ store: otherStore, rateLimit: false, processMetrics: false });
      running.push(b);
      const first = makeReport({ device: DEVICE });
      expect((await sendReport(a.url, token, first)).status).toBe(202);
      expect((await otherStore.counts()).reports).toBe(1);
      expect((await sendReport(b.url, token, first)).status).toBe(200);
      // A token issued through one collector's database works on the other.
      const second = await issueToken(otherStore, "rpi5-0002");
      const fromB = makeReport({ device: "rpi5-0002" });
      expect((await sendReport(b.url, second, fromB)).status).toBe(202);
      expect((await db.store.fleetStatus()).stages[0]).toMatchObject({ targeted: 2, updated: 2 });
      // The same report to both at once: stored once.
      const both = makeReport({ device: DEVICE });
      const statuses = (await Promise.all([a, b, a, b].map((c) => sendReport(c.url, token, both)))).map((r) => r.status).sort();
      expect(statuses).toEqual([200, 200, 200, 202]);
      expect(await db.store.counts()).toMatchObject({ reports: 3, events: 3, devices: 2 });
      expect(sample(await metricsOf(b.url), "slmops_collector_devices", { release: "1.3.0", state: "active" })).toBe(2);
    });
  });
});
