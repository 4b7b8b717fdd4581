import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Agent, type AgentDependencies } from "./agent.js";
import type { AgentConfig } from "./config.js";
import type { AgentEvent } from "./events.js";
import { EMPTY_JOURNAL, readJournal, writeJournal, type Journal } from "./journal.js";
import { agentLayout, versionDirName } from "./layout.js";

const DIGEST = "3f2a9c1e0b7d".padEnd(64, "0");
const installed = { version: "1.0.0", digest: DIGEST, dir: versionDirName("1.0.0", DIGEST) };

/** A journal as it reads back from its file (`interrupted` is always there once read). */
const stored = (journal: Journal): Journal => ({ ...journal, interrupted: journal.interrupted ?? {} });

function journalFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "agent-journal-"));
  return join(dir, "journal.json");
}

describe("readJournal", () => {
  it("reads back what writeJournal wrote", async () => {
    const file = journalFile();
    const journal: Journal = { ...EMPTY_JOURNAL, active: installed, failures: 2, lastCheck: "2025-01-02T03:04:05.000Z", failed: { "0.9.0": { digest: DIGEST, reason: "health check failed", at: "2025-01-01T00:00:00.000Z" } } };
    await writeJournal(file, journal);
    expect(await readJournal(file)).toEqual({ journal: stored(journal) });
    const interrupted: Journal = { ...journal, interrupted: { "1.1.0": 1 } };
    await writeJournal(file, interrupted);
    expect(await readJournal(file)).toEqual({ journal: interrupted });
  });

  it("treats a missing journal as a fresh device, without a problem", async () => {
    expect(await readJournal(journalFile())).toEqual({ journal: EMPTY_JOURNAL });
  });

  it("sets aside a corrupt journal: nothing in it is trusted, and the problem is said", async () => {
    const file = journalFile();
    await writeJournal(file, { ...EMPTY_JOURNAL, active: installed, failures: 3 });
    const whole = readFileSync(file, "utf8");
    for (const corrupt of [whole.slice(0, whole.length / 2), `${whole}}`, "\u0000".repeat(64), "", '{"format":2,"active":null}', "[1,2,3]", "null"]) {
      writeFileSync(file, corrupt);
      const { journal, problem } = await readJournal(file);
      expect(journal, JSON.stringify(corrupt)).toEqual(EMPTY_JOURNAL);
      expect(problem, JSON.stringify(corrupt)).toBe(`${file} does not parse; starting from the installed files`);
    }
  });

  it("drops entries that do not hold together, and a pending update at a step it does not know", async () => {
    const file = journalFile();
    writeFileSync(
      file,
      JSON.stringify({
        format: 1,
        active: { version: "1.0.0", digest: DIGEST, dir: "../../etc" },
        previous: { version: "0.9.0", digest: DIGEST, dir: ".hidden" },
        pending: { ...installed, step: "rebooting", startedAt: "2025-01-02T03:04:05.000Z" },
        failed: "everything",
        failures: -4,
        lastCheck: 17,
      }),
    );
    expect(await readJournal(file)).toEqual({ journal: stored(EMPTY_JOURNAL) });
  });

  it("remembers the 32 most recent failed releases", async () => {
    const file = journalFile();
    const failed = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`1.0.${i}`, { digest: DIGEST, reason: "health check failed", at: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString() }]));
    await writeJournal(file, { ...EMPTY_JOURNAL, failed });
    const kept = Object.keys((await readJournal(file)).journal.failed);
    expect(kept).toHaveLength(32);
    expect(kept).toContain("1.0.39");
    expect(kept).not.toContain("1.0.7");
  });
});

describe("recovery from a corrupt journal", () => {
  it("trusts the `active` link alone and writes a journal that says so", async () => {
    const root = mkdtempSync(join(tmpdir(), "agent-corrupt-"));
    const layout = agentLayout(join(root, "install"));
    mkdirSync(join(layout.versions, installed.dir), { recursive: true });
    writeFileSync(join(layout.versions, installed.dir, "model.onnx"), "model");
    writeFileSync(join(layout.versions, installed.dir, "release.json"), JSON.stringify({ model: "story-lm", channel: "stable", version: "1.0.0", variant: "int4", deviceClass: "rpi5", digest: DIGEST, files: [], modelFile: "model.onnx", installedAt: "2025-01-01T00:00:00.000Z" }));
    symlinkSync(`versions/${installed.dir}`, layout.active);
    mkdirSync(layout.state, { recursive: true });
    // A journal claiming another version, cut short mid-write by someone's editor.
    writeFileSync(layout.journal, `{"format":1,"active":{"version":"9.9.9","digest":"${DIGEST}","dir":"9.9.9-3f2a9c1e0b7d"},"failures":`);

    const config: AgentConfig = {
      file: join(root, "agent.yaml"),
      repository: "http://127.0.0.1:9",
      channel: "stable",
      model: "story-lm",
      device: { id: "kiosk-1", class: "rpi5" },
      installDir: layout.root,
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
      download: () => Promise.reject(new Error("recovery does not download")),
      healthCheck: () => Promise.reject(new Error("recovery does not health-check")),
      emit: (event) => void events.push(event),
    };
    const journal = await new Agent(config, deps).recover();
    expect(journal).toEqual({ ...EMPTY_JOURNAL, active: installed });
    expect((await readJournal(layout.journal)).journal).toEqual(stored(journal));
    expect(readdirSync(layout.versions)).toEqual([installed.dir]);
    expect(events).toEqual([]);
  });
});
