import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readRolloutState, setRolloutState, signingKeyFromSecret, type RolloutState } from "@slmops/edge-release";
import { describe, expect, it } from "vitest";
import { hasStackTrace, runCli, type CliRun } from "./test-support/run-cli.js";

const HOUR = 3600_000;

const ROLES = ["ROOT", "TARGETS", "ROLLOUT", "SNAPSHOT", "TIMESTAMP"];

/** A git repository with a made model, `slmops init`'s manifest plus a release section, and its int8 variant built. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), "slmops-release-"));
  execFileSync("git", ["init", "--quiet", "--initial-branch=trunk"], { cwd: dir });
  expect(runCli(["make-model", "--preset", "nano", "--out", "models/story-lm"], { cwd: dir }).status).toBe(0);
  expect(runCli(["init"], { cwd: dir }).status).toBe(0);
  appendFileSync(
    join(dir, "slmops.yaml"),
    "\nrelease:\n  channel: beta\n  targets:\n    local: int8\n  expiry: { timestamp: 2h, targets: 30d, rollout: 3d }\n  rollout:\n    stages:\n      - { percent: 5 }\n      - { percent: 50, soak: 24h }\n      - { percent: 100 }\n",
  );
  execFileSync("git", ["add", "-A"], { cwd: dir });
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "--quiet", "-m", "project"], { cwd: dir });
  const optimized = runCli(["optimize", "--variant", "int8"], { cwd: dir });
  expect(optimized.status, optimized.stderr).toBe(0);
  return dir;
}

function keysFrom(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

/** The signed rollout state of story-lm on beta, as the repository's current rollout metadata holds it. */
function signedRollout(dir: string): RolloutState {
  const file = join(dir, "repo", "metadata", `${latestVersion(dir, "rollout")}.rollout.json`);
  const targets = (JSON.parse(readFileSync(file, "utf8")) as { signed: { targets: Record<string, { custom: { rollout: unknown } }> } }).signed.targets;
  const target = targets["rollout/beta/story-lm.json"];
  expect(target).toBeDefined();
  return readRolloutState(target?.custom.rollout, file);
}

/** The version of a role's metadata the current snapshot names. */
function latestVersion(dir: string, role: string): number {
  const timestamp = JSON.parse(readFileSync(join(dir, "repo", "metadata", "timestamp.json"), "utf8")) as { signed: { meta: Record<string, { version: number }> } };
  const snapshotVersion = timestamp.signed.meta["snapshot.json"]?.version;
  const snapshot = JSON.parse(readFileSync(join(dir, "repo", "metadata", `${snapshotVersion}.snapshot.json`), "utf8")) as { signed: { meta: Record<string, { version: number }> } };
  return snapshot.signed.meta[`${role}.json`]?.version as number;
}

describe("slmops keys and release (real CLI, real files, tuf-js over loopback HTTP)", { timeout: 300_000 }, () => {
  it("keys init → build → verify → status → promote (soak enforced) → halt, and no private key in any output", async () => {
    const dir = project();
    const runs: CliRun[] = [];
    const run = (args: string[], env: Record<string, string> = {}): CliRun => {
      const r = runCli(args, { cwd: dir, env });
      runs.push(r);
      expect(hasStackTrace(r.stderr)).toBe(false);
      return r;
    };

    const init = run(["keys", "init", "--out-env", "keys.env"]);
    expect(init.status, init.stderr).toBe(0);
    expect((statSync(join(dir, "keys.env")).mode & 0o777).toString(8)).toBe("600");
    const keys = keysFrom(join(dir, "keys.env"));
    expect(Object.keys(keys)).toEqual(ROLES.map((r) => `SLMOPS_${r}_KEY`));
    for (const name of Object.keys(keys)) expect(init.stdout).toContain(name);
    expect(init.stdout).toContain("gh secret set");
    expect(init.stdout).toMatch(/root\s+SLMOPS_ROOT_KEY\s+[0-9a-f]{64}/);
    // Never overwritten.
    const again = run(["keys", "init", "--out-env", "keys.env"]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("keys.env already exists");
    expect(keysFrom(join(dir, "keys.env"))).toEqual(keys);

    // A gate verdict that passed on the release's device class.
    const verdict = join(dir, "verdict.json");
    writeFileSync(verdict, JSON.stringify({ outcome: "pass", verdict: { pairs: [{ device: "local", variant: "story-lm/int8", outcome: "pass", metrics: { "decode-latency-p90": 38.2 } }] } }));

    // A build without the root key cannot create the repository; the refusal names the variable only.
    const noRoot = run(["release", "build", "--repo", "repo", "--version", "1.0.0", "--verdict", verdict], { ...keys, SLMOPS_ROOT_KEY: "" });
    expect(noRoot.status).toBe(1);
    expect(noRoot.stderr).toContain("SLMOPS_ROOT_KEY is not set");

    const built = run(["release", "build", "--repo", "repo", "--version", "1.0.0", "--verdict", verdict], keys);
    expect(built.status, built.stderr).toBe(0);
    expect(built.stdout).toContain("Published story-lm 1.0.0 on beta");
    expect(existsSync(join(dir, "repo", "metadata", "1.root.json"))).toBe(true);
    // The manifest's release.expiry is what the signed metadata says (2h and 30d, not the 1d and 90d defaults).
    const expiresIn = (file: string) => Date.parse((JSON.parse(readFileSync(join(dir, "repo", "metadata", file), "utf8")) as { signed: { expires: string } }).signed.expires) - Date.now();
    expect(expiresIn("timestamp.json")).toBeGreaterThan(1.5 * 3600_000);
    expect(expiresIn("timestamp.json")).toBeLessThan(2.5 * 3600_000);
    expect(expiresIn("2.targets.json")).toBeGreaterThan(29 * 86_400_000);
    expect(expiresIn("2.targets.json")).toBeLessThan(31 * 86_400_000);
    // The same release again writes nothing; later builds need no root key.
    const same = run(["release", "build", "--repo", "repo", "--version", "1.0.0", "--verdict", verdict], { ...keys, SLMOPS_ROOT_KEY: "" });
    expect(same.status, same.stderr).toBe(0);
    expect(same.stdout).toContain("already published");

    const verified = run(["release", "verify", "--repo", "repo", "--root", "repo/metadata/1.root.json", "--channel", "beta"]);
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/verifies .* [1-9]\d* target\(s\) checked in place on channel beta/);
    // The bytes are checked, not only the metadata: a stored target with one byte changed is refused by name.
    const storedDir = join(dir, "repo", "targets", "beta", "story-lm", "1.0.0", "local");
    const stored = join(storedDir, readdirSync(storedDir).find((name) => name.endsWith(".model.onnx")) ?? "model.onnx");
    const good = readFileSync(stored);
    const bad = Buffer.from(good);
    bad[bad.length >> 1] = (bad[bad.length >> 1] ?? 0) ^ 0xff;
    writeFileSync(stored, bad);
    const tampered = run(["release", "verify", "--repo", "repo", "--root", "repo/metadata/1.root.json", "--channel", "beta"]);
    expect(tampered.status).toBe(1);
    expect(tampered.stderr).toContain("target beta/story-lm/1.0.0/local/model.onnx does not verify");
    expect(tampered.stderr).toContain("is not the signed file");
    writeFileSync(stored, good);

    const notStarted = run(["release", "status", "--repo", "repo"]);
    expect(notStarted.status, notStarted.stderr).toBe(0);
    expect(notStarted.stdout).toContain("channel beta");
    expect(notStarted.stdout).toMatch(/story-lm 1\.0\.0 +local +not rolled out/);

    // The rollout key (with the online snapshot and timestamp keys) only.
    const rolloutKeys = { SLMOPS_ROLLOUT_KEY: keys["SLMOPS_ROLLOUT_KEY"] as string, SLMOPS_SNAPSHOT_KEY: keys["SLMOPS_SNAPSHOT_KEY"] as string, SLMOPS_TIMESTAMP_KEY: keys["SLMOPS_TIMESTAMP_KEY"] as string, SLMOPS_ROOT_KEY: "", SLMOPS_TARGETS_KEY: "" };
    const started = run(["release", "promote", "--repo", "repo"], rolloutKeys);
    expect(started.status, started.stderr).toBe(0);
    expect(started.stdout).toContain("Started story-lm 1.0.0 on beta: stage 1 of 3 (5%)");
    // Stage 1 has no soak: promoted at once.
    const beforePromote = Date.now();
    const promoted = run(["release", "promote", "--repo", "repo"], rolloutKeys);
    expect(promoted.status, promoted.stderr).toBe(0);
    expect(promoted.stdout).toContain("to stage 2 of 3 (50%)");
    // The stage's start is signed with the state, by the promoting job's clock.
    const signed = signedRollout(dir);
    expect(signed).toMatchObject({ version: "1.0.0", stage: 1, halted: false });
    expect(Date.parse(signed.stageStartedAt)).toBeGreaterThanOrEqual(Math.floor(beforePromote / 1000) * 1000);
    expect(Date.parse(signed.stageStartedAt)).toBeLessThanOrEqual(Date.now());
    // Promote signs with the manifest's release.expiry too (rollout 3d, timestamp 2h; not the 7d and 1d defaults),
    // which the soak no longer depends on.
    const rolloutExpiresIn = expiresIn(`${latestVersion(dir, "rollout")}.rollout.json`);
    expect(rolloutExpiresIn).toBeGreaterThan(2.9 * 24 * HOUR);
    expect(rolloutExpiresIn).toBeLessThan(3.1 * 24 * HOUR);
    expect(expiresIn("timestamp.json")).toBeLessThan(2.5 * HOUR);
    // Stage 2 soaks 24h: refused now, with the time left.
    const early = run(["release", "promote", "--repo", "repo"], rolloutKeys);
    expect(early.status).toBe(1);
    expect(early.stderr).toContain(`stage 2 of story-lm 1.0.0 on beta began ${signed.stageStartedAt} and soaks for 24h 0m; `);
    expect(early.stderr).toMatch(/; 2[34]h \d+m left before it can be promoted \(from \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)/);
    expect(signedRollout(dir)).toEqual(signed);

    const halted = run(["release", "halt", "--repo", "repo"], rolloutKeys);
    expect(halted.status, halted.stderr).toBe(0);
    expect(halted.stdout).toContain("Halted story-lm 1.0.0 on beta at stage 2 of 3");
    const shown = run(["release", "status", "--repo", "repo", "--json"]);
    expect(shown.status, shown.stderr).toBe(0);
    const json = JSON.parse(shown.stdout) as { rollouts: RolloutState[] };
    // The halt keeps the stage's start and records its own.
    expect(json.rollouts).toMatchObject([{ version: "1.0.0", stage: 1, halted: true, stageStartedAt: signed.stageStartedAt }]);
    expect(json.rollouts[0]?.haltedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(json.rollouts[0]).toEqual(signedRollout(dir));
    expect(run(["release", "status", "--repo", "repo"]).stdout).toContain(`stage 2 of 3 (50%) since ${signed.stageStartedAt}, halted since ${json.rollouts[0]?.haltedAt}`);
    const afterHalt = run(["release", "promote", "--repo", "repo"], rolloutKeys);
    expect(afterHalt.status).toBe(1);
    expect(afterHalt.stderr).toContain("is halted");

    // The scheduled refresh: snapshot and timestamp keys only, the manifest's timestamp expiry (2h).
    const timestampVersion = (JSON.parse(readFileSync(join(dir, "repo", "metadata", "timestamp.json"), "utf8")) as { signed: { version: number } }).signed.version;
    const refreshed = run(["release", "refresh", "--repo", "repo"], { ...rolloutKeys, SLMOPS_ROLLOUT_KEY: "" });
    expect(refreshed.status, refreshed.stderr).toBe(0);
    expect(refreshed.stdout).toContain(`timestamp version ${timestampVersion + 1}.`);
    expect(refreshed.stdout).toMatch(/timestamp expires \S+ \(in (1h 59m|2h 0m)\)/);
    expect(expiresIn("timestamp.json")).toBeGreaterThan(1.5 * HOUR);
    expect(expiresIn("timestamp.json")).toBeLessThan(2.5 * HOUR);
    // The rollout metadata (3d) expires before the refresh after next (2 × 2h)? No: no warning.
    expect(refreshed.stderr).toBe("");

    // Still verifies as a device after the rollout changes (the rollout target included).
    const reverified = run(["release", "verify", "--repo", "repo", "--root", "repo/metadata/1.root.json"]);
    expect(reverified.status, reverified.stderr).toBe(0);

    // A stage whose signed start is more than its soak ago is promoted. The
    // state is signed as the promote job would have signed it 25 hours ago
    // (edge-release's clock option; the rollout key from keys.env).
    expect(run(["release", "build", "--repo", "repo", "--version", "1.0.1", "--verdict", verdict], keys).status).toBe(0);
    const rolloutKey = { rollout: [signingKeyFromSecret(keys["SLMOPS_ROLLOUT_KEY"] as string, "SLMOPS_ROLLOUT_KEY")], snapshot: [signingKeyFromSecret(keys["SLMOPS_SNAPSHOT_KEY"] as string, "SLMOPS_SNAPSHOT_KEY")], timestamp: [signingKeyFromSecret(keys["SLMOPS_TIMESTAMP_KEY"] as string, "SLMOPS_TIMESTAMP_KEY")] };
    const state101 = { channel: "beta", model: "story-lm", version: "1.0.1", stage: 1, salt: signed.salt, halted: false };
    await setRolloutState(join(dir, "repo"), state101, { signers: rolloutKey, now: new Date(Date.now() - 25 * HOUR) });
    const soaked = run(["release", "promote", "--repo", "repo", "--version", "1.0.1"], rolloutKeys);
    expect(soaked.status, soaked.stderr).toBe(0);
    expect(soaked.stdout).toContain("Promoted story-lm 1.0.1 on beta to stage 3 of 3 (100%)");
    expect(signedRollout(dir)).toMatchObject({ version: "1.0.1", stage: 2 });
    expect(Date.now() - Date.parse(signedRollout(dir).stageStartedAt)).toBeLessThan(HOUR);
    // A start later than this machine's clock (a signer whose clock ran ahead) is not counted from.
    await setRolloutState(join(dir, "repo"), state101, { signers: rolloutKey, now: new Date(Date.now() + 2 * HOUR) });
    const future = run(["release", "promote", "--repo", "repo", "--version", "1.0.1"], rolloutKeys);
    expect(future.status).toBe(1);
    expect(future.stderr).toMatch(/stage 2 of story-lm 1\.0\.1 on beta began at \S+ by its signed state, later than this machine's clock \(\S+\); its soak is not counted from the future/);
    expect(signedRollout(dir)).toMatchObject({ version: "1.0.1", stage: 1 });

    // A pass on another build of the variant (rebuilt after it was benchmarked) says nothing of this one: refused.
    writeFileSync(verdict, JSON.stringify({ outcome: "pass", verdict: { pairs: [{ device: "local", variant: "story-lm/int8", outcome: "pass", metrics: {}, modelSha256: "0".repeat(64) }] } }));
    const stale = run(["release", "build", "--repo", "repo", "--version", "1.1.0", "--verdict", verdict], keys);
    expect(stale.status).toBe(1);
    expect(stale.stderr).toMatch(/the gate did not pass on local \(inconclusive: the gate judged another build of story-lm\/int8 \(sha256 000000000000…\), not the one here \([0-9a-f]{12}…\); benchmark and gate this build\)/);

    // A failed verdict is refused without --force, and published with it.
    writeFileSync(verdict, JSON.stringify({ outcome: "fail", verdict: { pairs: [{ device: "local", variant: "story-lm/int8", outcome: "fail", metrics: {} }] } }));
    const refused = run(["release", "build", "--repo", "repo", "--version", "1.1.0", "--verdict", verdict], keys);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("the gate did not pass on local (fail)");
    expect(run(["release", "status", "--repo", "repo"]).stdout).not.toContain("1.1.0");
    const forced = run(["release", "build", "--repo", "repo", "--version", "1.1.0", "--verdict", verdict, "--force"], keys);
    expect(forced.status, forced.stderr).toBe(0);
    expect(run(["release", "status", "--repo", "repo"]).stdout).toMatch(/story-lm 1\.1\.0 +local +forced +not rolled out/);

    // The wrong root is refused.
    const otherDir = mkdtempSync(join(tmpdir(), "slmops-release-other-"));
    expect(runCli(["keys", "init", "--out-env", "k.env"], { cwd: otherDir }).status).toBe(0);
    const otherKeys = keysFrom(join(otherDir, "k.env"));
    writeFileSync(verdict, JSON.stringify({ outcome: "pass", verdict: { pairs: [{ device: "local", variant: "story-lm/int8", outcome: "pass" }] } }));
    expect(run(["release", "build", "--repo", join(otherDir, "repo"), "--version", "1.0.0", "--verdict", verdict], otherKeys).status).toBe(0);
    const wrongRoot = run(["release", "verify", "--repo", "repo", "--root", join(otherDir, "repo", "metadata", "1.root.json")]);
    expect(wrongRoot.status).toBe(1);
    expect(wrongRoot.stderr).toContain("does not verify");

    // No private key value in any output of any command.
    const secrets = [...Object.values(keys), ...Object.values(otherKeys)];
    for (const r of runs) for (const secret of secrets) expect(r.stdout + r.stderr).not.toContain(secret);
  });

  it("a canary key that is not a key is named by its variable only", () => {
    const dir = project();
    const canary = "Q0FOQVJZLXByaXZhdGUta2V5LXZhbHVlLTAxMjM0NTY3ODk=";
    const r = runCli(["release", "build", "--repo", "repo", "--version", "1.0.0", "--force"], {
      cwd: dir,
      env: { SLMOPS_ROOT_KEY: canary, SLMOPS_TARGETS_KEY: canary, SLMOPS_ROLLOUT_KEY: canary, SLMOPS_SNAPSHOT_KEY: canary, SLMOPS_TIMESTAMP_KEY: canary },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("SLMOPS_ROOT_KEY is not a PKCS#8 private key");
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(r.stdout + r.stderr).not.toContain(canary);
    expect(r.stdout + r.stderr).not.toContain("CANARY");
  });
});
