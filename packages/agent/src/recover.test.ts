/**
 * Recovery from the instants the process-level fault tests (faults.test.ts,
 * SIGKILL on an event) cannot hit reliably: between the journal saying
 * `switching` and the `active` link moving, and between the link moving and
 * the journal's commit. The state such a kill leaves is built on disk — real
 * version directories with their release.json, the real `active` link, a
 * real journal — and a real Agent recovers from it. Recovery neither
 * downloads nor health-checks, so those dependencies throw if called.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { activeModel } from "./active-model.js";
import { Agent, type AgentDependencies } from "./agent.js";
import type { AgentConfig } from "./config.js";
import type { AgentEvent } from "./events.js";
import type { ReleaseRecord } from "./install.js";
import { EMPTY_JOURNAL, readJournal, writeJournal, type InstalledVersion, type Journal, type UpdateStep } from "./journal.js";
import { versionDirName, type AgentLayout } from "./layout.js";

function version(v: string, hex: string): InstalledVersion {
  const digest = hex.repeat(64 / hex.length);
  return { version: v, digest, dir: versionDirName(v, digest) };
}

const OLDER = version("0.9.0", "09");
const OLD = version("1.0.0", "10");
const NEW = version("1.1.0", "11");

interface Device {
  readonly layout: AgentLayout;
  readonly events: AgentEvent[];
  readonly agent: Agent;
}

function device(): Device {
  const root = mkdtempSync(join(tmpdir(), "agent-recover-"));
  const config: AgentConfig = {
    file: join(root, "agent.yaml"),
    repository: "http://127.0.0.1:9",
    channel: "stable",
    model: "story-lm",
    device: { id: "kiosk-1", class: "rpi5" },
    installDir: join(root, "install"),
    trustedRoot: join(root, "1.root.json"),
    pollMs: 300_000,
    healthCheck: { budgetMs: undefined, timeoutMs: 120_000 },
    download: { readTimeoutMs: 30_000 },
    backoff: { initialMs: 30_000, maxMs: 3_600_000 },
    collector: undefined,
    events: "-",
  };
  const events: AgentEvent[] = [];
  const deps: AgentDependencies = {
    download: () => {
      throw new Error("recovery must not download");
    },
    healthCheck: () => {
      throw new Error("recovery must not run a health check");
    },
    emit: (event) => void events.push(event),
  };
  const agent = new Agent(config, deps);
  return { layout: agent.layout, events, agent };
}

/** A complete installed version, as installVersion leaves it: its model file and release.json. */
function install(layout: AgentLayout, v: InstalledVersion): void {
  const dir = join(layout.versions, v.dir);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "model.onnx"), `model ${v.version}`);
  const record: ReleaseRecord = { model: "story-lm", channel: "stable", version: v.version, variant: "int4", deviceClass: "rpi5", digest: v.digest, files: [{ name: "model.onnx", bytes: 0, sha256: "00".repeat(32) }], modelFile: "model.onnx", installedAt: "2025-01-01T00:00:00.000Z" };
  writeFileSync(join(dir, "release.json"), JSON.stringify(record));
}

function link(layout: AgentLayout, v: InstalledVersion): void {
  symlinkSync(`versions/${v.dir}`, layout.active);
}

/** Moves `active` the way switchActive does: a new link renamed over the old one. */
function relink(layout: AgentLayout, v: InstalledVersion): void {
  const temp = join(layout.root, ".active.link-0000abcd");
  symlinkSync(`versions/${v.dir}`, temp);
  renameSync(temp, layout.active);
}

async function journal(layout: AgentLayout, value: Journal): Promise<void> {
  mkdirSync(layout.state, { recursive: true });
  await writeJournal(layout.journal, value);
}

function pending(v: InstalledVersion, step: UpdateStep): Journal["pending"] {
  return { ...v, step, startedAt: "2025-01-02T03:04:05.000Z" };
}

function linked(layout: AgentLayout): string {
  return readlinkSync(layout.active);
}

function versions(layout: AgentLayout): string[] {
  return readdirSync(layout.versions).sort();
}

describe("recover() after a kill at the switch", () => {
  it("killed after the journal said `switching`, before the link moved: the switch is finished, the old version kept as previous", async () => {
    const { layout, agent, events } = device();
    install(layout, OLDER);
    install(layout, OLD);
    install(layout, NEW);
    link(layout, OLD);
    await journal(layout, { ...EMPTY_JOURNAL, active: OLD, previous: OLDER, pending: pending(NEW, "switching") });

    const recovered = await agent.recover();

    expect(linked(layout)).toBe(`versions/${NEW.dir}`);
    expect(lstatSync(layout.active).isSymbolicLink()).toBe(true);
    expect(recovered).toMatchObject({ active: NEW, previous: OLD, pending: null });
    expect((await readJournal(layout.journal)).journal).toMatchObject({ active: NEW, previous: OLD, pending: null });
    // The active and the previous version stay; the one before them goes.
    expect(versions(layout)).toEqual([OLD.dir, NEW.dir].sort());
    expect((await activeModel(layout.root))?.version).toBe("1.1.0");
    expect(readFileSync(join(layout.active, "model.onnx"), "utf8")).toBe("model 1.1.0");
    // Finishing a switch the health check allowed is no failure.
    expect(events).toEqual([]);
    // No temporary link is left beside `active`.
    expect(readdirSync(layout.root).filter((n) => n.startsWith(".active.link-"))).toEqual([]);
  });

  it("killed after the link moved, before the journal was committed: the journal catches up, nothing moves again", async () => {
    const { layout, agent, events } = device();
    install(layout, OLDER);
    install(layout, OLD);
    install(layout, NEW);
    link(layout, OLD);
    await journal(layout, { ...EMPTY_JOURNAL, active: OLD, previous: OLDER, pending: pending(NEW, "switching") });
    relink(layout, NEW); // the rename happened; the process died before writing the journal
    const before = lstatSync(layout.active).ino;

    const recovered = await agent.recover();

    expect(linked(layout)).toBe(`versions/${NEW.dir}`);
    expect(lstatSync(layout.active).ino).toBe(before); // not switched a second time
    expect(recovered).toMatchObject({ active: NEW, previous: OLD, pending: null });
    expect((await readJournal(layout.journal)).journal).toMatchObject({ active: NEW, previous: OLD, pending: null });
    expect(versions(layout)).toEqual([OLD.dir, NEW.dir].sort());
    expect((await activeModel(layout.root))?.version).toBe("1.1.0");
    expect(events).toEqual([]);
  });

  it("the first update of a device, killed at its switch: the new version is active, with no previous", async () => {
    const { layout, agent } = device();
    install(layout, NEW);
    await journal(layout, { ...EMPTY_JOURNAL, pending: pending(NEW, "switching") });

    const recovered = await agent.recover();

    expect(linked(layout)).toBe(`versions/${NEW.dir}`);
    expect(recovered).toMatchObject({ active: NEW, previous: null, pending: null });
    expect(versions(layout)).toEqual([NEW.dir]);
  });

  it("is idempotent: recovering again changes nothing", async () => {
    const { layout, agent } = device();
    install(layout, OLD);
    install(layout, NEW);
    link(layout, OLD);
    await journal(layout, { ...EMPTY_JOURNAL, active: OLD, pending: pending(NEW, "switching") });
    const first = await agent.recover();
    const text = readFileSync(layout.journal, "utf8");
    const second = await agent.recover();
    expect(second).toEqual(first);
    expect(readFileSync(layout.journal, "utf8")).toBe(text);
    expect(linked(layout)).toBe(`versions/${NEW.dir}`);
  });
});

describe("recover() after a kill before the switch", () => {
  it("a pending update at `installing` is undone: its directory and the half-made install removed, the device on its old version, a retryable failure reported", async () => {
    const { layout, agent, events } = device();
    install(layout, OLDER);
    install(layout, OLD);
    link(layout, OLD);
    // Killed mid-install: the version renamed into place (or not), a hidden install directory, its staging downloads.
    install(layout, NEW);
    const half = join(layout.versions, `.${NEW.dir}.installing-0badc0de`);
    mkdirSync(half);
    writeFileSync(join(half, "model.onnx"), "half");
    await journal(layout, { ...EMPTY_JOURNAL, active: OLD, previous: OLDER, failures: 0, pending: pending(NEW, "installing") });

    const recovered = await agent.recover();

    expect(linked(layout)).toBe(`versions/${OLD.dir}`);
    expect(existsSync(join(layout.versions, NEW.dir))).toBe(false);
    expect(existsSync(half)).toBe(false);
    expect(versions(layout)).toEqual([OLDER.dir, OLD.dir].sort());
    expect(recovered).toMatchObject({ active: OLD, previous: OLDER, pending: null });
    expect((await readJournal(layout.journal)).journal.pending).toBeNull();
    expect((await activeModel(layout.root))?.version).toBe("1.0.0");
    expect(events.map((e) => [e.event, e.version, e.retryable])).toEqual([["failed", "1.1.0", true]]);
    expect(events[0]?.reason).toBe("interrupted while installing; the device stayed on 1.0.0");
    // Not remembered as a failed release: the next check tries it again.
    expect(recovered.failed).toEqual({});
  });

  it("a pending update at `downloading` is undone with its partial downloads kept, to resume", async () => {
    const { layout, agent, events } = device();
    install(layout, OLD);
    link(layout, OLD);
    const staging = join(layout.downloads, NEW.dir);
    mkdirSync(staging, { recursive: true });
    writeFileSync(join(staging, "model.onnx.partial"), "the first half");
    await journal(layout, { ...EMPTY_JOURNAL, active: OLD, pending: pending(NEW, "downloading") });

    const recovered = await agent.recover();

    expect(recovered).toMatchObject({ active: OLD, pending: null });
    expect(linked(layout)).toBe(`versions/${OLD.dir}`);
    expect(readFileSync(join(staging, "model.onnx.partial"), "utf8")).toBe("the first half");
    expect(events.map((e) => e.reason)).toEqual(["interrupted while downloading; the device stayed on 1.0.0"]);
  });

  it("a pending update that names the active version's own directory never removes it", async () => {
    const { layout, agent } = device();
    install(layout, OLD);
    link(layout, OLD);
    await journal(layout, { ...EMPTY_JOURNAL, active: OLD, pending: pending(OLD, "verifying") });
    await agent.recover();
    expect(linked(layout)).toBe(`versions/${OLD.dir}`);
    expect(readFileSync(join(layout.active, "release.json"), "utf8")).toContain('"version":"1.0.0"');
  });
});
