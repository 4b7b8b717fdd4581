/**
 * The store contract, run against SQLite and PostgreSQL alike: migrations
 * applied once (also by collectors starting together, each in its own
 * process), tokens, reports stored once per (device, id), and the fleet
 * figures the status and promote commands read.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import pg from "pg";
import { describe, expect, test } from "vitest";
import { histogramQuantile } from "@slmops/latency-histogram";
import { SCHEMA_VERSION } from "./migrations.js";
import { checkReport, LATENCY_BUCKETS_MS, type CheckedReport } from "./report.js";
import { BACKENDS, useBackend } from "./test-support/backends.js";
import { latencyCounts, makeReport, type ReportShape } from "./test-support/reports.js";
import { hashToken, newToken } from "./tokens.js";

const run = promisify(execFile);
const child = fileURLToPath(new URL("./test-support/migrate-child.mjs", import.meta.url));
const built = fileURLToPath(new URL("../dist/index.js", import.meta.url));

function checked(shape: ReportShape = {}): CheckedReport {
  const result = checkReport(makeReport(shape));
  if (!result.ok) throw new Error(`test report invalid: ${JSON.stringify(result.problems)}`);
  return result.report;
}

const t = (second: number): string => `2026-12-02T14:00:${String(second).padStart(2, "0")}.000Z`;

describe.each(BACKENDS)("the $name store", ({ name, skip }) => {
  describe.skipIf(skip)("", () => {
    const backend = useBackend(name);

    test("migrates a new database once; a second run applies nothing", async () => {
      const db = await backend.fresh({ migrate: false });
      expect(await db.store.migrate()).toEqual({ applied: [1], version: SCHEMA_VERSION });
      expect(await db.store.migrate()).toEqual({ applied: [], version: SCHEMA_VERSION });
      expect(await db.another().migrate()).toEqual({ applied: [], version: SCHEMA_VERSION });
      expect(await db.store.counts()).toEqual({ reports: 0, events: 0, devices: 0, tokens: 0 });
    });

    test("collectors starting together (four processes) apply each migration exactly once", async () => {
      expect(existsSync(built), "the package is built (npm run build) before its tests").toBe(true);
      const db = await backend.fresh({ migrate: false });
      const goAt = Date.now() + 1500;
      const results = await Promise.all([1, 2, 3, 4].map(() => run(process.execPath, [child, db.location, String(goAt)])));
      const applied = results.map((r) => (JSON.parse(r.stdout) as { applied: number[] }).applied);
      expect(applied.flat().sort()).toEqual([1]);
      expect(applied.filter((a) => a.length === 0)).toHaveLength(3);
      await db.store.addToken("d", hashToken(newToken()));
      expect((await db.store.counts()).tokens).toBe(1);
    });

    test("refuses a database a newer collector migrated, saying what to do", async () => {
      const db = await backend.fresh();
      const sql = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'from the future', '2030-01-01T00:00:00Z')";
      if (name === "sqlite") {
        const raw = new Database(db.location);
        raw.exec(sql);
        raw.close();
      } else {
        const client = new pg.Client({ connectionString: db.location });
        await client.connect();
        await client.query(sql);
        await client.end();
      }
      await expect(db.another().migrate()).rejects.toThrow(/schema version 99, newer than this collector understands \(1\); upgrade slmops/);
    });

    test("stores a report with figures and no events, and one with events and no figures", async () => {
      const { store } = await backend.fresh();
      expect(await store.insertReport(checked({ events: [] }))).toBe("stored");
      expect(await store.insertReport(checked({ figures: null }))).toBe("stored");
      expect(await store.counts()).toMatchObject({ reports: 2, events: 1, devices: 1 });
      expect((await store.fleetStatus()).figures).toEqual([expect.objectContaining({ reports: 1, inferences: 5 })]);
    });

    test("finds a token by its hash, revokes every live token of a device, and knows a revoked one", async () => {
      const { store } = await backend.fresh();
      const first = newToken();
      const second = newToken();
      await store.addToken("rpi5-0001", hashToken(first), new Date("2026-12-01T00:00:00Z"));
      await store.addToken("rpi5-0001", hashToken(second));
      await store.addToken("rpi5-0002", hashToken(newToken()));
      expect(await store.findToken(hashToken(first))).toEqual({ device: "rpi5-0001", createdAt: "2026-12-01T00:00:00.000Z" });
      expect(await store.findToken(hashToken(newToken()))).toBeUndefined();
      expect(await store.revokeTokens("rpi5-0001", new Date("2026-12-02T00:00:00Z"))).toBe(2);
      expect(await store.revokeTokens("rpi5-0001")).toBe(0);
      expect(await store.findToken(hashToken(second))).toMatchObject({ device: "rpi5-0001", revokedAt: "2026-12-02T00:00:00.000Z" });
      expect((await store.counts()).tokens).toBe(3);
    });

    test("stores a report once: a retry is a duplicate, the same id with other content a conflict, and nothing is added twice", async () => {
      const { store } = await backend.fresh();
      const report = checked({ id: "0f8e2c1a-5b7d-4c3e-9a21-6d4f8b9e0c12" });
      expect(await store.insertReport(report)).toBe("stored");
      expect(await store.insertReport(report)).toBe("duplicate");
      // The same content with its keys in another order and the id in upper case is the same report.
      const reordered = checkReport(JSON.parse(JSON.stringify({ ...report, digest: undefined, id: report.id.toUpperCase() }, Object.keys(report).reverse().concat("time", "event", "device", "deviceClass", "model", "channel", "version", "from", "stage", "durationMs", "loadMs", "latencyMs", "release", "latencyBucketsMs", "latencyCounts", "inferences", "errors", "memoryBytes"))));
      expect(reordered.ok && (await store.insertReport(reordered.report))).toBe("duplicate");
      expect(await store.insertReport(checked({ id: report.id, figures: null }))).toBe("conflict");
      expect(await store.counts()).toEqual({ reports: 1, events: 1, devices: 1, tokens: 0 });
      // Report ids are scoped by device: another device's report under the same id is its own.
      expect(await store.insertReport(checked({ id: report.id, device: "rpi5-0002" }))).toBe("stored");
      expect(await store.counts()).toMatchObject({ reports: 2, events: 2, devices: 2 });
      const status = await store.fleetStatus();
      expect(status.figures).toEqual([expect.objectContaining({ release: "1.3.0", deviceClass: "rpi5", devices: 2, reports: 2, inferences: 10 })]);
    });

    test("the same report stored concurrently from several connections is stored once", async () => {
      const db = await backend.fresh();
      const report = checked();
      const stores = [db.store, db.another(), db.another(), db.another()];
      const outcomes = await Promise.all(stores.flatMap((store) => [store.insertReport(report), store.insertReport(report)]));
      expect(outcomes.filter((o) => o === "stored")).toHaveLength(1);
      expect(outcomes.filter((o) => o === "duplicate")).toHaveLength(7);
      expect(await db.store.counts()).toMatchObject({ reports: 1, events: 1 });
    });

    test("fleet status per release, stage and class: targeted, updated, healthy, rolled back, failed; figures merged", async () => {
      const { store } = await backend.fresh();
      const takeUp = (stage: number, end: ReportShape["events"]): ReportShape["events"] => [
        { time: t(1), event: "checking", version: "1.2.0" },
        { time: t(2), event: "downloading", version: "1.3.0", stage, bytes: 1000 },
        { time: t(3), event: "verifying", version: "1.3.0", durationMs: 20 },
        { time: t(4), event: "installing", version: "1.3.0" },
        { time: t(5), event: "health-checking", version: "1.3.0" },
        ...(end ?? []),
      ];
      const figures = (latencies: number[], errors: number, loadMs: number, memoryBytes: number): ReportShape["figures"] => ({
        release: "1.3.0", loadMs, latencyBucketsMs: [...LATENCY_BUCKETS_MS], latencyCounts: latencyCounts(latencies), inferences: latencies.length, errors, memoryBytes,
      });
      const reports: ReportShape[] = [
        { device: "a1", events: takeUp(0, [{ time: t(6), event: "active", version: "1.3.0", from: "1.2.0", stage: 0 }]), figures: figures([10, 20, 30], 0, 800, 400) },
        { device: "a2", events: takeUp(0, [{ time: t(6), event: "rolled-back", version: "1.3.0", from: "1.2.0", reason: "health check: output differs" }]), figures: null },
        { device: "a3", events: [{ time: t(2), event: "downloading", version: "1.3.0", stage: 0 }, { time: t(3), event: "failed", version: "1.3.0", reason: "sha256 mismatch", retryable: false }], figures: null },
        { device: "a4", events: [{ time: t(1), event: "idle", outcome: "not-in-stage", version: "1.3.0", stage: 0, percent: 10 }], figures: null },
        { device: "j1", deviceClass: "jetson", events: takeUp(1, [{ time: t(6), event: "active", version: "1.3.0", stage: 1 }]), figures: figures([5, 5, 100, 3000], 1, 1200, 900) },
        { device: "j2", deviceClass: "jetson", events: [{ time: t(2), event: "downloading", version: "1.3.0", stage: 1 }, { time: t(3), event: "failed", version: "1.3.0", reason: "network", retryable: true, retryInMs: 5000 }], figures: null },
      ];
      for (const shape of reports) expect(await store.insertReport(checked(shape))).toBe("stored");
      // j2 retries later in a second report and succeeds; a1 reports more figures.
      expect(await store.insertReport(checked({ device: "j2", deviceClass: "jetson", events: [{ time: t(20), event: "active", version: "1.3.0", stage: 1 }], figures: null }))).toBe("stored");
      expect(await store.insertReport(checked({ device: "a1", events: [], figures: figures([40, 2000], 2, 700, 500) }))).toBe("stored");

      const status = await store.fleetStatus({ model: "story-lm" });
      const row = { model: "story-lm", channel: "stable", release: "1.3.0" };
      expect(status.stages).toEqual([
        { ...row, stage: 0, deviceClass: "rpi5", targeted: 3, updated: 1, healthy: 1, rolledBack: 1, failed: 1, failureEvents: 1 },
        { ...row, stage: 1, deviceClass: "jetson", targeted: 2, updated: 2, healthy: 2, rolledBack: 0, failed: 0, failureEvents: 1 },
      ]);
      const rpi = status.figures.find((f) => f.deviceClass === "rpi5");
      expect(rpi).toEqual({ ...row, deviceClass: "rpi5", devices: 1, reports: 2, inferences: 5, errors: 2, latencyCounts: latencyCounts([10, 20, 30, 40, 2000]), loadMsMax: 800, loadMsMean: 750, memoryBytesMax: 500 });
      const jetson = status.figures.find((f) => f.deviceClass === "jetson");
      expect(jetson?.latencyCounts).toEqual(latencyCounts([5, 5, 100, 3000]));
      // The median of 10, 20, 30, 40, 2000 lies in the (20, 50] bucket: interpolated, 27.5.
      expect(histogramQuantile(0.5, rpi?.latencyCounts ?? [])).toBeCloseTo(27.5, 5);
      expect(await store.fleetStatus({ release: "9.9.9" })).toEqual({ stages: [], figures: [] });
      expect((await store.fleetStatus({ channel: "beta" })).stages).toEqual([]);

      // a3 and a4 never said what they run (no checking event): release "".
      const fleet = { model: "story-lm", channel: "stable" };
      expect(await store.deviceStates()).toEqual([
        { ...fleet, release: "", state: "failed", devices: 1 },
        { ...fleet, release: "", state: "idle", devices: 1 },
        { ...fleet, release: "1.2.0", state: "rolled-back", devices: 1 },
        { ...fleet, release: "1.3.0", state: "active", devices: 3 },
      ]);
    });

    test("a device's state follows its latest event even when reports arrive out of order", async () => {
      const { store } = await backend.fresh();
      await store.insertReport(checked({ device: "o1", events: [{ time: t(30), event: "active", version: "1.3.0", from: "1.2.0" }], figures: null }));
      await store.insertReport(checked({ device: "o1", events: [{ time: t(10), event: "checking", version: "1.2.0" }, { time: t(11), event: "downloading", version: "1.3.0" }], figures: null }));
      expect(await store.deviceStates()).toEqual([{ model: "story-lm", channel: "stable", release: "1.3.0", state: "active", devices: 1 }]);
      await store.insertReport(checked({ device: "o1", events: [{ time: t(40), event: "idle", outcome: "up-to-date", version: "1.3.0" }], figures: null }));
      expect(await store.deviceStates()).toEqual([{ model: "story-lm", channel: "stable", release: "1.3.0", state: "idle", devices: 1 }]);
    });
  });
});
