import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SqliteStore, checkReport } from "@slmops/collector";
import { publishRelease, setRolloutState } from "@slmops/edge-release";
import { describe, expect, it } from "vitest";
import { only, setup } from "./test-support/release-repository.js";

/** A release 1.1.0 of tiny-llm with two stages and an abort rule (5% once 3 devices reported), at its first stage. */
async function rollingOut(soakMs = 0) {
  const s = await setup();
  const variant = join(s.dir, "variant");
  const files = JSON.parse(readFileSync(join(s.repo, "metadata", "2.targets.json"), "utf8")).signed.targets["stable/tiny-llm/1.0.0/rpi5/model.onnx"].custom.variantFiles;
  await publishRelease(
    s.repo,
    {
      channel: "stable",
      model: "tiny-llm",
      version: "1.1.0",
      sourceCommit: "0123456789abcdef0123456789abcdef01234567",
      manifestDigest: "cd".repeat(32),
      rolloutPlan: { stages: [{ percent: 10, soakMs }, { percent: 100, soakMs: 0 }], abort: { failureRate: "0.05", minDevices: 3 } },
      targets: [{ deviceClass: "rpi5", variant: "int8", directory: variant, identity: { files, digest: JSON.parse(readFileSync(join(s.repo, "metadata", "2.targets.json"), "utf8")).signed.targets["stable/tiny-llm/1.0.0/rpi5/model.onnx"].custom.variantDigest }, verdict: { outcome: "pass", figures: {} }, healthCheck: { input: [1] } }],
    },
    { signers: s.signers },
  );
  await setRolloutState(s.repo, { channel: "stable", model: "tiny-llm", version: "1.1.0", stage: 0, salt: "6b".repeat(16), halted: false }, { signers: s.signers });
  return s;
}

/** The collector's database with what `devices` reported about 1.1.0: each `active` or `rolled-back`. */
async function fleet(dir: string, devices: Record<string, "active" | "rolled-back">): Promise<string> {
  mkdirSync(join(dir, "fleet"), { recursive: true });
  const file = join(dir, "fleet", "collector.sqlite");
  const store = new SqliteStore({ file });
  await store.migrate();
  const at = new Date().toISOString();
  for (const [device, end] of Object.entries(devices)) {
    const base = { time: at, device, deviceClass: "rpi5", model: "tiny-llm", channel: "stable", version: "1.1.0", stage: 0 };
    const checked = checkReport({ id: randomUUID(), device, deviceClass: "rpi5", model: "tiny-llm", channel: "stable", sentAt: at, events: [{ ...base, event: "downloading" }, { ...base, event: end, ...(end === "rolled-back" ? { reason: "health check failed: top-1 differs" } : {}) }] });
    if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
    await store.insertReport(checked.report);
  }
  await store.close();
  return file;
}

describe("release promote reads the fleet: the abort rule halts the rollout, with its figures printed and recorded", { timeout: 120_000 }, () => {
  it("halts when the failure rate is above the rule once enough devices reported; otherwise promotes and says why", async () => {
    const s = await rollingOut();
    const keys = only(s.env, "rollout", "snapshot", "timestamp");

    const healthy = await fleet(join(s.dir, "a"), { "kiosk-1": "active", "kiosk-2": "active", "kiosk-3": "active" });
    const on = s.run(["release", "promote", "--repo", "repo", "--database", healthy], keys);
    expect(on.status, on.stderr).toBe(0);
    expect(on.stdout).toContain("Fleet: 3 device(s) took 1.1.0 up, 0 failed (0.0%); within the abort rule");
    expect(on.stdout).toContain("Promoted tiny-llm 1.1.0 on stable to stage 2 of 2");

    const s2 = await rollingOut();
    const keys2 = only(s2.env, "rollout", "snapshot", "timestamp");
    const failing = await fleet(join(s2.dir, "b"), { "kiosk-1": "rolled-back", "kiosk-2": "active", "kiosk-3": "rolled-back" });
    const halted = s2.run(["release", "promote", "--repo", "repo", "--database", failing], keys2);
    expect(halted.status).toBe(1);
    expect(halted.stdout).toContain("Halted tiny-llm 1.1.0 on stable at stage 1 of 2: the fleet's reports meet the abort rule");
    expect(halted.stdout).toContain("2 of 3 devices failed the release (66.7%), above the abort rate of 5.0% (at least 3 devices reported)");
    const status = s2.run(["release", "status", "--repo", "repo", "--json"], {});
    expect(status.stdout).toMatch(/"halted": ?true/);
    const records = readFileSync(join(s2.repo, "rollout-decisions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { decision: string; failures: number; devices: number });
    expect(records.map((r) => [r.decision, r.failures, r.devices])).toEqual([["halt", 2, 3]]);
    // Halted: a second promote is refused and the rollout stays halted.
    expect(s2.run(["release", "promote", "--repo", "repo", "--database", failing], keys2).status).toBe(1);

    // Too few devices yet: the rule waits.
    const s3 = await rollingOut();
    const few = await fleet(join(s3.dir, "c"), { "kiosk-1": "rolled-back" });
    const waits = s3.run(["release", "promote", "--repo", "repo", "--database", few], only(s3.env, "rollout", "snapshot", "timestamp"));
    expect(waits.status, waits.stderr).toBe(0);
    expect(waits.stdout).toContain("fewer than the 3 devices the abort rule waits for");
    expect(existsSync(join(s3.repo, "rollout-decisions.jsonl"))).toBe(true);
  });

  it("--if-due: a stage still soaking is not promoted, and a scheduled job does not fail on it — the fleet is judged first", async () => {
    const s = await rollingOut(3_600_000);
    const keys = only(s.env, "rollout", "snapshot", "timestamp");
    const healthy = await fleet(join(s.dir, "a"), { "kiosk-1": "active", "kiosk-2": "active", "kiosk-3": "active" });
    const early = s.run(["release", "promote", "--repo", "repo", "--database", healthy], keys);
    expect(early.status).toBe(1);
    expect(early.stderr).toContain("left before it can be promoted");
    const scheduled = s.run(["release", "promote", "--repo", "repo", "--database", healthy, "--if-due"], keys);
    expect(scheduled.status, scheduled.stderr).toBe(0);
    expect(scheduled.stdout).toMatch(/stage 1 of tiny-llm 1\.1\.0 on stable soaks until .* left\); not promoted yet/);
    const failing = await fleet(join(s.dir, "b"), { "kiosk-1": "rolled-back", "kiosk-2": "rolled-back", "kiosk-3": "rolled-back" });
    const halted = s.run(["release", "promote", "--repo", "repo", "--database", failing, "--if-due"], keys);
    expect(halted.status).toBe(1);
    expect(halted.stdout).toContain("the fleet's reports meet the abort rule");
    // The next hourly run finds the rollout halted: said, not failed.
    const after = s.run(["release", "promote", "--repo", "repo", "--database", failing, "--if-due"], keys);
    expect(after.status, after.stderr).toBe(0);
    expect(after.stdout).toContain("the rollout of tiny-llm 1.1.0 on stable is halted at stage 1 of 2; nothing to promote");

    // At its last stage, the scheduled job has nothing to do, and says so.
    const done = await rollingOut();
    const doneKeys = only(done.env, "rollout", "snapshot", "timestamp");
    expect(done.run(["release", "promote", "--repo", "repo"], doneKeys).status).toBe(0);
    const last = done.run(["release", "promote", "--repo", "repo", "--if-due"], doneKeys);
    expect(last.status, last.stderr).toBe(0);
    expect(last.stdout).toContain("tiny-llm 1.1.0 on stable is at its last stage (2 of 2); nothing to promote");
    expect(done.run(["release", "promote", "--repo", "repo"], doneKeys).stderr).toContain("is at its last stage already");
  });
});
