/**
 * The collector and fleet commands through the built CLI (dist/bin.js), as
 * real processes: `collector serve` on a real SQLite file and a loopback
 * port, `collector token add | revoke`, a real `slmops agent once` taking a
 * signed release up from Debian's nginx and reporting to the collector, and
 * `fleet status` reading what it stored. SQLite only here: the collector's
 * PostgreSQL test cluster (packages/collector/src/test-support) is not
 * exported by @slmops/collector, and its own suite runs every store test
 * against both databases.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { initRepository, metadataDirectory, publishRelease, setRolloutState, generateSigningKey, type RoleName, type Signers, type SigningKey } from "@slmops/edge-release";
import { makeHealthCheck } from "@slmops/health-check";
import { newCohortSalt } from "@slmops/rollout-cohort";
import { skipWithoutNginx, startNginx, type NginxServer } from "@slmops/test-nginx";
import { describeVariant } from "@slmops/variant-identity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binPath, hasStackTrace, runCli, type CliRun } from "../test-support/run-cli.js";
import { wilsonInterval, type FleetReport } from "./fleet.js";

const BENCH = { "latency-p50": 12.5, "latency-p90": 20, "latency-p99": 31.5, "load-time": 150, "peak-memory": 50_000_000 };
/** LATENCY_BUCKETS_MS of the report format: 1 2 5 10 20 50 100 … ms, then the overflow. */
const BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000];

let work: string;
let db: string;
let nginx: NginxServer | undefined;
let serveProcess: ChildProcessWithoutNullStreams | undefined;
let collectorUrl: string;
let serveOutput = "";

function cli(args: readonly string[], env: Record<string, string> = {}): CliRun {
  const r = runCli(args, { cwd: work, env: { NO_COLOR: "1", ...env } });
  expect(hasStackTrace(r.stderr), `slmops ${args.join(" ")}:\n${r.stderr}`).toBe(false);
  return r;
}

function mustSucceed(args: readonly string[]): CliRun {
  const r = cli(args);
  expect(r.status, `slmops ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

/** A signed repository holding story-lm 1.0.0 for rpi5 (the maker's nano decoder, its health check), rolled out to 100%. */
async function makeRepository(dir: string): Promise<string> {
  const repo = join(dir, "repo");
  const keys = Object.fromEntries((["root", "targets", "snapshot", "timestamp", "rollout"] as const).map((role) => [role, generateSigningKey()])) as Record<RoleName, SigningKey>;
  const signers: Signers = Object.fromEntries(Object.entries(keys).map(([role, key]) => [role, [key]]));
  await initRepository(repo, { roles: Object.fromEntries(Object.entries(keys).map(([role, key]) => [role, { keys: [key] }])) as Record<RoleName, { keys: SigningKey[] }>, signers });
  const variant = join(dir, "variant");
  mustSucceed(["make-model", "--preset", "nano", "--out", variant]);
  const identity = await describeVariant(variant, ["model.onnx"], { what: "model file" });
  await publishRelease(
    repo,
    {
      channel: "stable",
      model: "story-lm",
      version: "1.0.0",
      sourceCommit: "0123456789abcdef0123456789abcdef01234567",
      manifestDigest: "ab".repeat(32),
      rolloutPlan: { stages: [{ percent: 100, soakMs: 0 }] },
      targets: [{ deviceClass: "rpi5", variant: "fp32", directory: variant, identity, verdict: { outcome: "pass", figures: BENCH }, healthCheck: (await makeHealthCheck(join(variant, "model.onnx"), { kind: "decoder" })) as never }],
    },
    { signers },
  );
  await setRolloutState(repo, { channel: "stable", model: "story-lm", version: "1.0.0", stage: 0, salt: newCohortSalt(), halted: false }, { signers });
  return repo;
}

function startServe(): Promise<string> {
  const child = spawn(process.execPath, [binPath, "collector", "serve", "--database", db, "--port", "0"], { cwd: work, env: { ...process.env, NO_COLOR: "1" } });
  serveProcess = child;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector serve did not start:\n${serveOutput}`)), 30_000);
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => (serveOutput += text));
    child.stdout.on("data", (text: string) => {
      serveOutput += text;
      const url = /collector listening on (http:\/\/\S+)/.exec(serveOutput)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`collector serve exited ${String(code)}:\n${serveOutput}`));
    });
  });
}

function stopServe(): Promise<number | null> {
  const child = serveProcess;
  if (!child || child.exitCode !== null) return Promise.resolve(child?.exitCode ?? null);
  return new Promise((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

async function post(token: string, report: unknown): Promise<{ status: number; body: { status?: string; error?: { code: string } } }> {
  const response = await fetch(`${collectorUrl}/v1/reports`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(report) });
  return { status: response.status, body: (await response.json()) as { status?: string; error?: { code: string } } };
}

function event(device: string, name: string, extra: Record<string, unknown> = {}, at = Date.now()): Record<string, unknown> {
  return { time: new Date(at).toISOString(), event: name, device, deviceClass: "rpi5", model: "story-lm", channel: "stable", ...extra };
}

function report(device: string, events: Record<string, unknown>[], figures?: Record<string, unknown>): Record<string, unknown> {
  return { id: randomUUID(), device, deviceClass: "rpi5", model: "story-lm", channel: "stable", sentAt: new Date().toISOString(), events, ...(figures ? { figures } : {}) };
}

function fleetJson(...extra: string[]): FleetReport {
  const r = mustSucceed(["fleet", "status", "--json", "--database", db, ...extra]);
  return JSON.parse(r.stdout) as FleetReport;
}

let repo: string;
let device: string;
let token1: string;
let agentStage: number | null = null;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "slmops-collector-cli-"));
  db = join(work, "fleet", "collector.sqlite");
  repo = await makeRepository(work);
  device = join(work, "device");
  mkdirSync(device);
}, 300_000);

afterAll(async () => {
  await stopServe();
  await nginx?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("slmops collector and fleet status (SQLite, real processes)", { timeout: 180_000 }, () => {
  it("token add prints the token once on stdout, how to install it on stderr, and stores only its hash", () => {
    const added = mustSucceed(["collector", "token", "add", "kiosk-1", "--database", db]);
    token1 = added.stdout.trim();
    expect(token1).toMatch(/^slmops_dev_[A-Za-z0-9_-]{43}$/);
    expect(added.stdout).toBe(`${token1}\n`);
    expect(added.stderr).toContain("token-file:");
    expect(added.stderr).toContain("slmops collector token revoke kiosk-1");
    // The database holds the sha256, never the token.
    expect(readFileSync(db).includes(Buffer.from(token1))).toBe(false);
    const json = JSON.parse(mustSucceed(["collector", "token", "add", "kiosk-2", "--database", db, "--json"]).stdout) as { device: string; token: string };
    expect(json.device).toBe("kiosk-2");
    expect(json.token).toMatch(/^slmops_dev_/);
  });

  it("refuses what is not a device id, and revoking a device without a token, with one message each", () => {
    const spaced = cli(["collector", "token", "add", "two words", "--database", db]);
    expect(spaced.status).toBe(2);
    expect(spaced.stderr).toContain("is not a device id");
    const none = cli(["collector", "token", "revoke", "no-such-device", "--database", db]);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain("device no-such-device has no live token");
    const noDatabase = cli(["fleet", "status", "--database", "no-such.sqlite"]);
    expect(noDatabase.status).toBe(1);
    expect(noDatabase.stderr).toContain("there is no collector database at no-such.sqlite");
    const missing = cli(["collector", "token", "add"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("needs the device's id");
  });

  it.skipIf(skipWithoutNginx())("serve takes the reports of a real agent once: fleet status shows the device updated and healthy, beside the bench figures", async () => {
    collectorUrl = await startServe();
    expect(serveOutput).toMatch(/collector listening on http:\/\/127\.0\.0\.1:\d+ \(sqlite .*collector\.sqlite, schema version \d+\)/);
    const health = await fetch(`${collectorUrl}/healthz`);
    expect(health.status).toBe(200);

    nginx = await startNginx({ root: repo });
    const tokenFile = join(device, "collector.token");
    writeFileSync(tokenFile, `${token1}\n`, { mode: 0o600 });
    writeFileSync(
      join(device, "agent.yaml"),
      [
        "version: 1",
        `repository: ${JSON.stringify(nginx.url)}`,
        "channel: stable",
        "model: story-lm",
        "device: { id: kiosk-1, class: rpi5 }",
        `install-dir: ${JSON.stringify(join(device, "install"))}`,
        `trusted-root: ${JSON.stringify(join(metadataDirectory(repo), "1.root.json"))}`,
        "health-check: { timeout: 2m }",
        `collector: { url: ${JSON.stringify(collectorUrl)}, token-file: ${JSON.stringify(tokenFile)} }`,
        "",
      ].join("\n"),
    );
    const once = cli(["agent", "once", "--config", join(device, "agent.yaml")]);
    expect(once.status, `${once.stdout}\n${once.stderr}`).toBe(0);
    expect(once.stdout).toContain('"event":"active"');
    expect(once.stderr).not.toContain("collector:");

    const status = fleetJson("--repo", repo);
    expect(status.stages).toEqual([
      expect.objectContaining({ model: "story-lm", channel: "stable", release: "1.0.0", deviceClass: "rpi5", targeted: 1, updated: 1, healthy: 1, rolledBack: 0, failed: 0, failureRate: 0 }),
    ]);
    // The stage the agent's take-up events name (null while they name none); the other devices below report the same.
    agentStage = status.stages[0]?.stage ?? null;
    if (agentStage !== null) expect(status.stages[0]?.percent).toBe(100);
    expect(status.failureRate).toMatchObject({ interval: "Wilson score", confidence: 0.95 });
    expect(status.stages[0]?.failureRateInterval?.low).toBe(0);
    expect(status.stages[0]?.failureRateInterval?.high).toBeCloseTo(wilsonInterval(0, 1)?.high ?? 0, 12);
    expect(status.bench).toBe(true);

    // Checked again: up to date; its report counts once more as a report, not as another device.
    expect(cli(["agent", "once", "--config", join(device, "agent.yaml")]).status).toBe(0);
    expect(fleetJson().stages[0]).toMatchObject({ targeted: 1, updated: 1, healthy: 1 });
  });

  it.skipIf(skipWithoutNginx())("fleet status merges field histograms into p50/p90/p99 and shows the failure rate with its Wilson interval", async () => {
    // Two more devices of the class report over HTTP, as their agents would: one took the release up with
    // field figures, one rolled it back (its health check failed).
    const token2 = (JSON.parse(mustSucceed(["collector", "token", "add", "kiosk-3", "--database", db, "--json"]).stdout) as { token: string }).token;
    const token3 = (JSON.parse(mustSucceed(["collector", "token", "add", "kiosk-4", "--database", db, "--json"]).stdout) as { token: string }).token;
    const t = Date.now();
    const stage = agentStage === null ? {} : { stage: agentStage };
    // 100 inferences: 50 in (10, 20] ms, 40 in (20, 50], 9 in (50, 100], 1 in (100, 200].
    const counts = new Array<number>(BUCKETS.length + 1).fill(0);
    counts[4] = 50;
    counts[5] = 40;
    counts[6] = 9;
    counts[7] = 1;
    const taken = report("kiosk-3", [event("kiosk-3", "downloading", { version: "1.0.0", ...stage }, t), event("kiosk-3", "active", { version: "1.0.0", ...stage, from: "none" }, t + 1000)], {
      release: "1.0.0",
      loadMs: 180,
      latencyBucketsMs: BUCKETS,
      latencyCounts: counts,
      inferences: 100,
      errors: 2,
      memoryBytes: 60_000_000,
    });
    expect((await post(token2, taken)).status).toBe(202);
    expect((await post(token2, taken)).body.status).toBe("already stored"); // a retry counts once
    const rolled = report("kiosk-4", [event("kiosk-4", "downloading", { version: "1.0.0", ...stage }, t), event("kiosk-4", "rolled-back", { version: "1.0.0", ...stage, reason: "health check failed" }, t + 1000)]);
    expect((await post(token3, rolled)).status).toBe(202);

    const status = fleetJson("--repo", repo);
    expect(status.stages[0]).toMatchObject({ targeted: 3, updated: 2, healthy: 2, rolledBack: 1, failures: 1 });
    const interval = wilsonInterval(1, 3);
    expect(status.stages[0]?.failureRate).toBeCloseTo(1 / 3, 12);
    expect(status.stages[0]?.failureRateInterval).toEqual(interval);
    // The Wilson score interval of 1 in 3 at 95%.
    expect(interval?.low).toBeCloseTo(0.0615, 4);
    expect(interval?.high).toBeCloseTo(0.7923, 4);

    const figures = status.figures.find((f) => f.release === "1.0.0" && f.deviceClass === "rpi5");
    expect(figures).toMatchObject({ devices: 1, inferences: 100, errors: 2, errorRate: 0.02, loadMsMax: 180, memoryBytesMax: 60_000_000 });
    // p50: rank 50 is the end of (10, 20]; p90: rank 90 ends (20, 50]; p99: rank 99 ends (50, 100].
    expect(figures?.latencyMs?.p50.ms).toBeCloseTo(20, 9);
    expect(figures?.latencyMs?.p90.ms).toBeCloseTo(50, 9);
    expect(figures?.latencyMs?.p99.ms).toBeCloseTo(100, 9);
    expect(figures?.bench).toEqual({ outcome: "pass", figures: BENCH });

    const text = mustSucceed(["fleet", "status", "--database", db, "--repo", repo]).stdout;
    expect(text).toContain("95% Wilson score interval");
    expect(text).toMatch(/^ {2}release +stage +class +targeted +updated +healthy +rolled back +failed +failure rate \[95% CI\]$/m);
    const stageCell = agentStage === null ? "\\?" : `${agentStage + 1} \\(100%\\)`;
    expect(text).toMatch(new RegExp(`^ {2}1\\.0\\.0 +${stageCell} +rpi5 +3 +2 +2 +1 +0 +33\\.3% \\[6\\.1%, 79\\.2%\\]$`, "m"));
    expect(text).toContain("latency  p50 20.0 ms  p90 50.0 ms  p99 100 ms  (field, merged histogram)");
    expect(text).toContain("bench    p50 12.5 ms  p90 20.0 ms  p99 31.5 ms  (gate pass)");
    expect(text).toContain("load 180 ms mean, 180 ms max (bench 150 ms)");

    // Without --repo: field figures only, and a note on how to get the bench's.
    const fieldOnly = mustSucceed(["fleet", "status", "--database", db]).stdout;
    expect(fieldOnly).not.toContain("bench    ");
    expect(fieldOnly).toContain("pass --repo");
    // --release filters; an unknown one says nobody reported it.
    expect(mustSucceed(["fleet", "status", "--database", db, "--release", "9.9.9"]).stdout).toContain("No device has reported release 9.9.9 yet.");
  });

  it.skipIf(skipWithoutNginx())("a revoked token's reports are refused and not stored; serve stops cleanly on SIGTERM", async () => {
    const before = fleetJson();
    const revoked = mustSucceed(["collector", "token", "revoke", "kiosk-1", "--database", db]);
    expect(revoked.stdout).toContain("Revoked 1 token of device kiosk-1");
    const refused = await post(token1, report("kiosk-1", [event("kiosk-1", "checking")]));
    expect(refused.status).toBe(403);
    expect(refused.body.error?.code).toBe("revoked");
    // The agent's next report is refused too: it keeps it in its outbox and says so, the check itself succeeds.
    const once = cli(["agent", "once", "--config", join(device, "agent.yaml")]);
    expect(once.status, once.stderr).toBe(0);
    expect(once.stderr).toMatch(/collector: the collector answered 403/);
    expect(fleetJson()).toEqual(before);
    const metrics = await (await fetch(`${collectorUrl}/metrics`)).text();
    expect(metrics).toMatch(/slmops_collector_reports_refused_total\{reason="revoked"\} [2-9]/);

    expect(await stopServe()).toBe(0);
    expect(serveOutput).toContain("collector: SIGTERM, stopping");
    expect(serveOutput).toContain("collector stopped");
  });
});

describe("the SQLite driver, when it cannot load", { timeout: 60_000 }, () => {
  it("every other command runs; the collector commands fail with one message naming the fix", () => {
    // The CLI as an install where better-sqlite3 was skipped (its optional build failed): the bundle (bin.js
    // and its chunks) and package.json, with only its other dependencies beside it.
    const dir = mkdtempSync(join(tmpdir(), "slmops-no-sqlite-"));
    try {
      const cliDir = join(dir, "node_modules", "@slmops", "cli");
      mkdirSync(join(cliDir, "dist"), { recursive: true });
      for (const name of readdirSync(dirname(binPath)).filter((n) => n === "bin.js" || /^chunk-[A-Z0-9]+\.js$/.test(n))) cpSync(join(dirname(binPath), name), join(cliDir, "dist", name));
      cpSync(join(binPath, "..", "..", "package.json"), join(cliDir, "package.json"));
      for (const name of ["onnxruntime-node", "pg"]) symlinkSync(join(binPath, "..", "..", "node_modules", name), join(dir, "node_modules", name));
      const bin = join(cliDir, "dist", "bin.js");
      const spawnBin = (args: readonly string[]): CliRun => {
        // Without NODE_PATH, which npm's scripts point at the workspace's hoisted packages (better-sqlite3 among them).
        const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
        delete env.NODE_PATH;
        const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: "utf8", env });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
      };
      const help = spawnBin(["validate", "--help"]);
      expect(help.status, help.stderr).toBe(0);
      writeFileSync(join(dir, "existing.sqlite"), "");
      for (const args of [["collector", "token", "add", "kiosk-1"], ["fleet", "status", "--database", "existing.sqlite"], ["collector", "serve", "--port", "0"]]) {
        const r = spawnBin(args);
        expect(r.status, `${args.join(" ")}:\n${r.stdout}\n${r.stderr}`).toBe(1);
        expect(r.stderr).toContain("the collector's SQLite driver, better-sqlite3, is not installed");
        expect(r.stderr).toContain(`fix: cd ${dir} && npm install better-sqlite3@`);
        expect(r.stderr).toContain("--database postgres://");
        expect(hasStackTrace(r.stderr), r.stderr).toBe(false);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
