/**
 * The whole loop on one machine: a release published into a signed
 * repository, served by Debian's nginx, taken up stage by stage by 200
 * simulated devices (the real agent code, each with its own device id,
 * configuration and install directory) that report to `slmops collector
 * serve`; then a second release whose health check fails on one device
 * class: the collector sees it, `slmops release promote` halts it, the
 * affected devices stay on (return to) the first release, and `slmops fleet
 * status` shows all of it. The release side is driven through the CLI, as
 * an operator or a scheduled job runs it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CheckOutcome } from "@slmops/agent";
import { SqliteStore, issueToken } from "@slmops/collector";
import { loadRepository, rolloutStates, signingKeyFromSecret, type RoleName, type SigningKey } from "@slmops/edge-release";
import { runHealthCheck } from "@slmops/health-check";
import { inCohort } from "@slmops/rollout-cohort";
import { startNginx, skipWithoutNginx, type NginxServer } from "@slmops/test-nginx";
import { CHANNEL, MODEL, createTestRepository, type TestRepository } from "@slmops/test-release-repository";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SIMULATED_SESSION, SimulatedFleet } from "./index.js";

const cli = join(import.meta.dirname, "..", "..", "cli", "dist", "bin.js");
const ROLES: readonly RoleName[] = ["root", "targets", "rollout", "snapshot", "timestamp"];
const RPI5 = 150;
const NUC = 50;
const ABORT = { failureRate: 0.1, minDevices: 20 };
/** The bench figures 1.1.0's gate passed on (ms), shown beside the field's. */
const BENCH = { "latency-p50": 20, "latency-p90": 30, "latency-p99": 40 };

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let work: string;
let env: Record<string, string>;
let repo: TestRepository;
let nginx: NginxServer;
let database: string;
let collector: ChildProcess | undefined;
let collectorLog = "";
let fleet: SimulatedFleet;
const fixtures = new Map<string, unknown>();

function slmops(args: readonly string[], extraEnv: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: work, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", ...extraEnv }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The keys `promote` needs, and no other (a scheduled job's secrets). */
const promoteKeys = (): Record<string, string> => Object.fromEntries(["rollout", "snapshot", "timestamp"].map((role) => [`SLMOPS_${role.toUpperCase()}_KEY`, env[`SLMOPS_${role.toUpperCase()}_KEY`] as string]));

function promote(): Run {
  return slmops(["release", "promote", "--repo", repo.dir, "--database", database], promoteKeys());
}

async function salt(version: string): Promise<string> {
  const state = rolloutStates(await loadRepository(repo.dir)).find((s) => s.version === version);
  if (!state) throw new Error(`no rollout state for ${version}`);
  return state.salt;
}

function startCollector(): Promise<string> {
  const child = spawn(process.execPath, [cli, "collector", "serve", "--database", database, "--port", "0"], { cwd: work, env: { ...process.env, NO_COLOR: "1" } });
  collector = child;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector serve did not start:\n${collectorLog}`)), 30_000);
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      collectorLog += text;
      const url = /collector listening on (http:\/\/\S+)/.exec(collectorLog)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.stderr.setEncoding("utf8").on("data", (text: string) => (collectorLog += text));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`collector serve exited ${String(code)}:\n${collectorLog}`));
    });
  });
}

function kinds(outcomes: ReadonlyMap<string, CheckOutcome>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes.values()) {
    const key = o.kind === "idle" ? `idle:${o.outcome}` : o.kind === "failed" ? `failed:${o.reason}` : o.kind;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** The application on each device: runs its active model on the release's fixture (real ONNX Runtime), timing each run. */
function runApplications(only?: (version: string) => boolean): Promise<number> {
  return fleet.runApplications(async (model, device) => {
    const fixture = fixtures.get(`${model.version}/${device.deviceClass}`);
    const result = await runHealthCheck(model.path, fixture, { timedRuns: 2, session: SIMULATED_SESSION });
    if (!result.ok) throw new Error(`the application's model ${model.version} on ${device.id} fails: ${result.problems.join("; ")}`);
    return { loadMs: result.loadMs ?? 0, latenciesMs: [result.latencyMs ?? 0] };
  }, only ? { only: (model) => only(model.version) } : {});
}

interface FleetJson {
  stages: { release: string; stage: number | null; deviceClass: string; targeted: number; updated: number; healthy: number; rolledBack: number; failed: number; failureRate: number | null; failureRateInterval: { low: number; high: number } | null }[];
  releases: { release: string; targeted: number; updated: number; rolledBack: number; failureRate: number | null }[];
  figures: { release: string; deviceClass: string; devices: number; inferences: number; errors: number; latencyMs: { p50: { ms: number }; p90: { ms: number }; p99: { ms: number } } | null; bench?: { outcome: string; figures: Record<string, number> } }[];
}

function fleetStatus(extra: readonly string[] = []): FleetJson {
  const r = slmops(["fleet", "status", "--database", database, "--json", ...extra]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as FleetJson;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "fleet-loop-"));
  const keys = slmops(["keys", "init", "--out-env", "keys.env"]);
  expect(keys.status, keys.stderr).toBe(0);
  env = Object.fromEntries(
    readFileSync(join(work, "keys.env"), "utf8")
      .trim()
      .split("\n")
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  const signing = Object.fromEntries(ROLES.map((role) => [role, signingKeyFromSecret(env[`SLMOPS_${role.toUpperCase()}_KEY`] as string, role)])) as Record<RoleName, SigningKey>;
  repo = await createTestRepository({ keys: signing, work });
  nginx = await startNginx({ root: repo.dir });

  database = join(work, "collector.sqlite");
  const specs = [...Array.from({ length: RPI5 }, (_, i) => ({ id: `rpi5-${String(i + 1).padStart(4, "0")}`, deviceClass: "rpi5" })), ...Array.from({ length: NUC }, (_, i) => ({ id: `nuc-${String(i + 1).padStart(4, "0")}`, deviceClass: "nuc" }))];
  const store = new SqliteStore({ file: database });
  await store.migrate();
  const devices = [];
  for (const spec of specs) devices.push({ ...spec, token: await issueToken(store, spec.id) });
  await store.close();
  const url = await startCollector();
  fleet = await SimulatedFleet.create({ dir: join(work, "devices"), repository: nginx.url, trustedRoot: repo.root, channel: CHANNEL, model: MODEL, devices, collector: url });
}, 180_000);

afterAll(async () => {
  collector?.kill("SIGTERM");
  await nginx?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(skipWithoutNginx())("the whole loop: 200 devices, a staged release, a failing one halted by what the devices report", { timeout: 600_000 }, () => {
  it("release 1.0.0 goes out stage by stage (10%, 50%, 100%): at each stage exactly the devices of its cohort take it up", async () => {
    const release = await repo.publish("1.0.0", { targets: [{ deviceClass: "rpi5" }, { deviceClass: "nuc" }], stages: [10, 50, 100], abort: ABORT });
    for (const t of release.targets) fixtures.set(`1.0.0/${t.deviceClass}`, t.healthCheck);

    // Published but not rolled out: nobody moves.
    const before = await fleet.checkAll();
    expect(kinds(before.outcomes)).toEqual({ "idle:no-rollout": 200 });

    const started = promote();
    expect(started.status, started.stderr).toBe(0);
    expect(started.stdout).toContain("stage 1 of 3");
    const cohortSalt = await salt("1.0.0");

    for (const [stage, percent] of [10, 50, 100].entries()) {
      if (stage > 0) {
        const next = promote();
        expect(next.status, `${next.stdout}\n${next.stderr}`).toBe(0);
        expect(next.stdout).toMatch(/Fleet: \d+ device\(s\) took 1\.0\.0 up, 0 failed \(0\.0%\)/);
        expect(next.stdout).toContain(`to stage ${stage + 1} of 3`);
      }
      const round = await fleet.checkAll();
      expect(round.reportProblems.size, [...round.reportProblems.values()].join("\n")).toBe(0);
      const active = await fleet.activeVersions();
      const expected = fleet.devices.filter((d) => inCohort(cohortSalt, d.id, percent)).map((d) => d.id);
      const onRelease = [...active].filter(([, v]) => v === "1.0.0").map(([id]) => id);
      expect(onRelease.sort()).toEqual(expected.sort());
      // A raised percentage only adds devices: none left and none failed.
      expect(Object.keys(kinds(round.outcomes)).every((k) => k === "updated" || k.startsWith("idle:"))).toBe(true);
    }
    expect((await fleet.activeVersions()).size).toBe(200);
    expect([...(await fleet.activeVersions()).values()].every((v) => v === "1.0.0")).toBe(true);

    // The application runs the model; its figures go out with the next check.
    expect(await runApplications()).toBe(200);
    const idle = await fleet.checkAll();
    expect(kinds(idle.outcomes)).toEqual({ "idle:up-to-date": 200 });

    const status = fleetStatus();
    const r1 = status.releases.find((r) => r.release === "1.0.0");
    expect(r1).toMatchObject({ targeted: 200, updated: 200, rolledBack: 0, failureRate: 0 });
    const byStage = status.stages.filter((s) => s.release === "1.0.0");
    expect(byStage.reduce((sum, s) => sum + s.updated, 0)).toBe(200);
    const figures = status.figures.filter((f) => f.release === "1.0.0");
    expect(figures.map((f) => [f.deviceClass, f.devices, f.inferences, f.errors]).sort()).toEqual([
      ["nuc", NUC, NUC, 0],
      ["rpi5", RPI5, RPI5, 0],
    ]);
    for (const f of figures) expect(f.latencyMs?.p99.ms).toBeGreaterThan(0);
  });

  it("release 1.1.0 fails its health check on every nuc: the collector sees it, promote halts it, the nucs stay on 1.0.0, fleet status shows it", async () => {
    // The nuc variant's fixture is another model's: it loads, runs, and gives other logits.
    const release = await repo.publish("1.1.0", { targets: [{ deviceClass: "rpi5", benchFigures: BENCH }, { deviceClass: "nuc", fixtureSeed: 4242, benchFigures: BENCH }], stages: [25, 100], abort: ABORT });
    for (const t of release.targets) fixtures.set(`1.1.0/${t.deviceClass}`, t.healthCheck);
    const started = promote();
    expect(started.status, started.stderr).toBe(0);
    expect(started.stdout).toContain("stage 1 of 2");
    const cohortSalt = await salt("1.1.0");
    const inStage = new Set(fleet.devices.filter((d) => inCohort(cohortSalt, d.id, 25)).map((d) => d.id));
    const nucsIn = fleet.devices.filter((d) => d.deviceClass === "nuc" && inStage.has(d.id)).map((d) => d.id);
    const rpisIn = fleet.devices.filter((d) => d.deviceClass === "rpi5" && inStage.has(d.id)).map((d) => d.id);
    // With this salt the stage must hold enough devices for the rule to judge, and some of each class.
    expect(inStage.size).toBeGreaterThanOrEqual(ABORT.minDevices);
    expect(nucsIn.length).toBeGreaterThan(0);

    const round = await fleet.checkAll();
    expect(round.reportProblems.size, [...round.reportProblems.values()].join("\n")).toBe(0);
    expect(kinds(round.outcomes)).toEqual({ updated: rpisIn.length, "rolled-back": nucsIn.length, "idle:not-in-stage": 200 - inStage.size });
    for (const id of nucsIn) {
      const outcome = round.outcomes.get(id);
      expect(outcome?.kind === "rolled-back" ? outcome.reason : outcome).toMatch(/health check/);
    }
    let active = await fleet.activeVersions();
    for (const d of fleet.devices) expect(active.get(d.id), d.id).toBe(rpisIn.includes(d.id) ? "1.1.0" : "1.0.0");

    // The applications on 1.1.0 run it; the figures go with the next check, in which nothing changes.
    expect(await runApplications((version) => version === "1.1.0")).toBe(rpisIn.length);
    const again = await fleet.checkAll();
    expect(kinds(again.outcomes)).toEqual({ "idle:up-to-date": rpisIn.length, "idle:failed-here": nucsIn.length, "idle:not-in-stage": 200 - inStage.size });

    // What the collector saw, before the decision.
    const seen = fleetStatus(["--repo", repo.dir]);
    const nucRow = seen.stages.find((s) => s.release === "1.1.0" && s.deviceClass === "nuc");
    const rpiRow = seen.stages.find((s) => s.release === "1.1.0" && s.deviceClass === "rpi5");
    expect(nucRow).toMatchObject({ stage: 0, targeted: nucsIn.length, updated: 0, healthy: 0, rolledBack: nucsIn.length, failed: 0, failureRate: 1 });
    expect(rpiRow).toMatchObject({ stage: 0, targeted: rpisIn.length, updated: rpisIn.length, healthy: rpisIn.length, rolledBack: 0, failureRate: 0 });
    const rate = nucsIn.length / inStage.size;
    expect(seen.releases.find((r) => r.release === "1.1.0")).toMatchObject({ targeted: inStage.size, rolledBack: nucsIn.length });
    expect(seen.releases.find((r) => r.release === "1.1.0")?.failureRate).toBeCloseTo(rate, 10);
    // Field latency beside the bench figures the release passed on that device class.
    const field = seen.figures.find((f) => f.release === "1.1.0" && f.deviceClass === "rpi5");
    expect(field).toMatchObject({ devices: rpisIn.length, inferences: rpisIn.length, errors: 0, bench: { outcome: "pass", figures: BENCH } });
    expect(field?.latencyMs?.p50.ms).toBeGreaterThan(0);
    // 1.0.0's healthy devices are those that did not move on.
    expect(seen.releases.find((r) => r.release === "1.0.0")).toMatchObject({ targeted: 200, updated: 200 });
    expect(seen.stages.filter((s) => s.release === "1.0.0").reduce((sum, s) => sum + s.healthy, 0)).toBe(200 - rpisIn.length);

    // The scheduled promote: the abort rule is met, so the rollout halts instead of moving on.
    const halted = promote();
    expect(halted.status, `${halted.stdout}\n${halted.stderr}`).toBe(1);
    expect(halted.stdout).toContain("Halted story-lm 1.1.0 on stable at stage 1 of 2: the fleet's reports meet the abort rule");
    expect(halted.stdout).toContain(`${nucsIn.length} of ${inStage.size} devices failed the release (${(rate * 100).toFixed(1)}%), above the abort rate of 10.0%`);
    const decisions = readFileSync(join(repo.dir, "rollout-decisions.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { version: string; decision: string; failures: number; devices: number });
    expect(decisions.at(-1)).toMatchObject({ version: "1.1.0", decision: "halt", failures: nucsIn.length, devices: inStage.size });
    const status = slmops(["release", "status", "--repo", repo.dir, "--json"]);
    expect(status.stdout).toMatch(/"halted": ?true/);

    // Halted: no device takes 1.1.0 up any more; those that have it keep it; the nucs stay on 1.0.0.
    const after = await fleet.checkAll();
    expect(after.outcomes.size).toBe(200);
    for (const [id, outcome] of after.outcomes) expect(outcome.kind, id).toBe("idle");
    active = await fleet.activeVersions();
    for (const d of fleet.devices) expect(active.get(d.id), d.id).toBe(rpisIn.includes(d.id) ? "1.1.0" : "1.0.0");
    const failed = await fleet.failedVersions();
    for (const d of fleet.devices) expect(failed.get(d.id), d.id).toEqual(nucsIn.includes(d.id) ? ["1.1.0"] : []);

    // And fleet status shows the halt's whole picture, in the table an operator reads.
    const table = slmops(["fleet", "status", "--database", database, "--release", "1.1.0"]);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`1\\.1\\.0\\s+1\\s+nuc\\s+${nucsIn.length}\\s+0\\s+0\\s+${nucsIn.length}\\s+0\\s+100\\.0%`));
    expect(collectorLog).not.toMatch(/error/i);
  });
});
