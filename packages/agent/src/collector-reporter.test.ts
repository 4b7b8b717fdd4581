import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore, issueToken, startCollector, type Collector } from "@slmops/collector";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CollectorReporter } from "./collector-reporter.js";
import type { AgentConfig } from "./config.js";
import { agentEvent } from "./events.js";
import { agentLayout } from "./layout.js";
import { collectorDevice } from "./test-support/collector-device.js";

let store: SqliteStore;
let collector: Collector;

beforeAll(async () => {
  store = new SqliteStore({ file: join(mkdtempSync(join(tmpdir(), "reporter-db-")), "collector.sqlite") });
  await store.migrate();
  collector = await startCollector({ store, rateLimit: false, processMetrics: false });
});
afterAll(async () => {
  await collector.close();
  await store.close();
});

function device(id: string, token: string, url = collector.url): { config: AgentConfig; state: string } {
  const config = collectorDevice(id, token, url);
  return { config, state: join(config.installDir, "state") };
}

const event = (id: string, name: "checking" | "active", extra: Record<string, unknown> = {}) =>
  agentEvent({ time: new Date().toISOString(), event: name, device: id, deviceClass: "rpi5", model: "story-lm", channel: "stable", ...extra });

describe("the agent's reports to the collector (real collector over loopback, SQLite)", () => {
  it("sends each check's events once; a collector that is down keeps them in the outbox until it is back, and nothing is counted twice", async () => {
    const token = await issueToken(store, "kiosk-1");
    const before = await store.counts();
    const down = device("kiosk-1", token, "http://127.0.0.1:9");
    const reporter = new CollectorReporter(down.config, agentLayout(down.config.installDir));
    reporter.record(event("kiosk-1", "checking"));
    reporter.record(event("kiosk-1", "active", { version: "1.0.0", durationMs: 120 }));
    const offline = await reporter.flush();
    expect(offline).toMatchObject({ sent: 0, pending: 1 });
    expect(offline.problem).toMatch(/did not answer/);
    expect(readdirSync(join(down.state, "outbox"))).toHaveLength(1);

    // Back: the same outbox, the real collector.
    const up = new CollectorReporter({ ...down.config, collector: { url: collector.url, tokenFile: down.config.collector?.tokenFile ?? "" } }, agentLayout(down.config.installDir));
    up.record(event("kiosk-1", "checking"));
    expect(await up.flush()).toEqual({ sent: 2, dropped: 0, pending: 0 });
    expect(readdirSync(join(down.state, "outbox"))).toEqual([]);
    const after = await store.counts();
    expect(after.reports - before.reports).toBe(2);
    expect(after.events - before.events).toBe(3);
    // Nothing left to send: nothing more stored.
    expect(await up.flush()).toEqual({ sent: 0, dropped: 0, pending: 0 });
    expect((await store.counts()).reports).toBe(after.reports);
  });

  it("a revoked token: the collector stores nothing, and the reports stay in the outbox (the token may be replaced)", async () => {
    const token = await issueToken(store, "kiosk-2");
    await store.revokeTokens("kiosk-2");
    const d = device("kiosk-2", token);
    const reporter = new CollectorReporter(d.config, agentLayout(d.config.installDir));
    reporter.record(event("kiosk-2", "checking"));
    const before = await store.counts();
    const r = await reporter.flush();
    expect(r).toMatchObject({ sent: 0, pending: 1 });
    expect(r.problem).toMatch(/answered 403/);
    expect((await store.counts()).reports).toBe(before.reports);
  });
});
