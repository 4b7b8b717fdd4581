import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore, issueToken, startCollector, type Collector } from "@slmops/collector";
import { bucketOf, histogramQuantile } from "@slmops/latency-histogram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CollectorReporter } from "./collector-reporter.js";
import type { AgentConfig } from "./config.js";
import { FieldRecorder, readFieldFiles, type FieldFigures } from "./field-figures.js";
import { agentLayout } from "./layout.js";
import { collectorDevice } from "./test-support/collector-device.js";

let store: SqliteStore;
let collector: Collector;

beforeAll(async () => {
  store = new SqliteStore({ file: join(mkdtempSync(join(tmpdir(), "field-db-")), "collector.sqlite") });
  await store.migrate();
  collector = await startCollector({ store, rateLimit: false, processMetrics: false });
});
afterAll(async () => {
  await collector.close();
  await store.close();
});

async function device(id: string, url = collector.url): Promise<{ config: AgentConfig; installDir: string; reporter: () => CollectorReporter }> {
  const config = collectorDevice(id, await issueToken(store, id), url, "nuc");
  return { config, installDir: config.installDir, reporter: () => new CollectorReporter(config, agentLayout(config.installDir)) };
}

async function figuresOf(release: string) {
  return (await store.fleetStatus({ model: "story-lm", channel: "stable", release })).figures.find((f) => f.deviceClass === "nuc");
}

describe("field figures: the application counts, the agent reports, the collector merges (real collector, SQLite)", () => {
  it("counts per release go to the collector once, as fixed-bucket histograms that merge across devices", async () => {
    const a = await device("kiosk-a");
    const b = await device("kiosk-b");
    const ra = new FieldRecorder(a.installDir, { flushEveryMs: 0 });
    const rb = new FieldRecorder(b.installDir, { flushEveryMs: 0 });
    ra.recordLoad("2.0.0", 840);
    for (const ms of [3, 4, 4, 18, 45]) ra.recordInference("2.0.0", ms);
    ra.recordError("2.0.0");
    ra.recordInference("1.9.0", 700); // the version before the switch: its own figures
    for (const ms of [90, 95, 4]) rb.recordInference("2.0.0", ms);
    expect(await ra.flush()).toBe(2);
    expect(await ra.flush()).toBe(0); // nothing new counted
    await rb.close();

    const files = (await readFieldFiles(agentLayout(a.installDir).field)).map((f) => ("figures" in f ? f.figures : f.problem));
    expect(files.map((f) => (f as FieldFigures).release).sort()).toEqual(["1.9.0", "2.0.0"]);

    expect(await a.reporter().flush()).toEqual({ sent: 2, dropped: 0, pending: 0 });
    expect(await b.reporter().flush()).toEqual({ sent: 1, dropped: 0, pending: 0 });
    expect(readdirSync(agentLayout(a.installDir).field)).toEqual([]);
    expect(await a.reporter().flush()).toEqual({ sent: 0, dropped: 0, pending: 0 });

    const merged = await figuresOf("2.0.0");
    expect(merged).toMatchObject({ devices: 2, reports: 2, inferences: 8, errors: 1, loadMsMax: 840 });
    const expected = new Array<number>(merged?.latencyCounts.length ?? 0).fill(0);
    for (const ms of [3, 4, 4, 18, 45, 90, 95, 4]) expected[bucketOf(ms)]! += 1;
    expect(merged?.latencyCounts).toEqual(expected);
    expect(histogramQuantile(0.5, merged?.latencyCounts ?? [])).toBe(5); // rank 4 of 8: the top of the (2, 5] bucket
    expect(merged?.memoryBytesMax).toBeGreaterThan(10 * 1024 * 1024); // this process's peak RSS
    expect(await figuresOf("1.9.0")).toMatchObject({ devices: 1, inferences: 1 });
  });

  it("a collector that is down: the figures wait in the outbox; a crash that sends a file twice counts it once", async () => {
    const d = await device("kiosk-c", "http://127.0.0.1:9");
    const recorder = new FieldRecorder(d.installDir, { flushEveryMs: 0 });
    for (const ms of [11, 12, 13]) recorder.recordInference("3.0.0", ms);
    await recorder.flush();
    const layout = agentLayout(d.installDir);
    const [name] = readdirSync(layout.field);
    const saved = join(mkdtempSync(join(tmpdir(), "field-saved-")), name as string);
    copyFileSync(join(layout.field, name as string), saved);

    const offline = await d.reporter().flush();
    expect(offline).toMatchObject({ sent: 0, pending: 1 });
    expect(readdirSync(layout.field)).toEqual([]); // moved into the outbox
    // As if the agent had died after writing the outbox and before removing the file: it is there again.
    copyFileSync(saved, join(layout.field, name as string));

    const up = new CollectorReporter({ ...d.config, collector: { url: collector.url, tokenFile: d.config.collector?.tokenFile ?? "" } }, layout);
    expect(await up.flush()).toEqual({ sent: 1, dropped: 0, pending: 0 }); // the same report, under the same name in the outbox
    expect(await figuresOf("3.0.0")).toMatchObject({ devices: 1, reports: 1, inferences: 3 });
    // And once more after it was sent: the collector answers "already stored" and counts nothing.
    copyFileSync(saved, join(layout.field, name as string));
    expect(await up.flush()).toEqual({ sent: 1, dropped: 0, pending: 0 });
    expect(await figuresOf("3.0.0")).toMatchObject({ devices: 1, reports: 1, inferences: 3 });
  });

  it("a file that is not the recorder's is never sent, and what the recorder could not write is kept for its next flush", async () => {
    const d = await device("kiosk-d");
    const layout = agentLayout(d.installDir);
    mkdirSync(layout.field, { recursive: true });
    const good = new FieldRecorder(d.installDir, { flushEveryMs: 0 });
    good.recordInference("4.0.0", 7);
    await good.flush();
    const [written] = readdirSync(layout.field);
    const figures = JSON.parse(readFileSync(join(layout.field, written as string), "utf8")) as Record<string, unknown>;
    // Extra fields (a prompt, an output) are not carried; wrong sums and huge files are refused.
    writeFileSync(join(layout.field, written as string), JSON.stringify({ ...figures, prompt: "tell me a secret", output: "no" }));
    writeFileSync(join(layout.field, "1-bad-sum.json"), JSON.stringify({ ...figures, id: "00000000-0000-4000-8000-000000000001", inferences: 5 }));
    writeFileSync(join(layout.field, "2-huge.json"), "x".repeat(64 * 1024));
    writeFileSync(join(layout.field, "3-not-json.json"), "{");

    expect(await d.reporter().flush()).toEqual({ sent: 1, dropped: 3, pending: 0 });
    expect(readdirSync(layout.field)).toEqual([]);
    expect(await figuresOf("4.0.0")).toMatchObject({ devices: 1, inferences: 1 });
    const stored = JSON.stringify(await store.fleetStatus({}));
    expect(stored).not.toContain("secret");

    // The field directory cannot be written: the flush fails, and the counts are in the next one.
    if (process.getuid?.() !== 0) {
      chmodSync(layout.field, 0o500);
    } else {
      rmSync(layout.field, { recursive: true });
      writeFileSync(layout.field, "a file where the directory should be");
    }
    const recorder = new FieldRecorder(d.installDir, { flushEveryMs: 0 });
    recorder.recordInference("4.0.0", 30);
    recorder.recordError("4.0.0");
    await expect(recorder.flush()).rejects.toThrow();
    recorder.recordInference("4.0.0", 31);
    if (process.getuid?.() !== 0) chmodSync(layout.field, 0o700);
    else rmSync(layout.field);
    expect(await recorder.flush()).toBe(1);
    const [kept] = await readFieldFiles(layout.field);
    expect(kept && "figures" in kept ? kept.figures : kept).toMatchObject({ release: "4.0.0", inferences: 2, errors: 1 });
  });

  it("refuses what is not a latency or a version, so a caller's bug is found where it is made", () => {
    const recorder = new FieldRecorder(mkdtempSync(join(tmpdir(), "field-bad-")), { flushEveryMs: 0 });
    expect(() => recorder.recordInference("1.0.0", -3)).toThrow(RangeError);
    expect(() => recorder.recordInference("../../etc", 3)).toThrow(/not a release version/);
    expect(() => recorder.recordLoad("1.0.0", Number.NaN)).toThrow(RangeError);
  });
});
