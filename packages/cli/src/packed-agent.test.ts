/**
 * The device agent as a device gets it: inside the published `@slmops/cli`
 * (one bundled file plus onnxruntime-node), packed with `npm pack` and
 * installed with plain `npm install --ignore-scripts` into an empty project
 * — no workspace, no pnpm, nothing but Node.js and npm.
 *
 * Every step runs through that installed `slmops`: a maintainer's model
 * repository (git, make-model, optimize, bench, gate) is released into a
 * signed TUF repository (`keys init`, `release build`, `release promote`);
 * Debian's nginx serves it; the device's configuration comes from
 * `agent init`, and `agent once` takes the release up — downloads, verifies,
 * installs, runs its health check in the installed onnxruntime-node, and
 * switches `active` to it.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { skipWithoutNginx, startNginx, type NginxServer } from "@slmops/test-nginx";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasStackTrace } from "./test-support/run-cli.js";
import { installTarball, packCli, run, userEnv, type Run } from "./test-support/packed-cli.js";

/** The maintainer's manifest: one model, its int8 variant shipped to the device class rpi5, one stage of 100%. */
const MANIFEST = `version: 1
models:
  - id: story-lm
    source: models/story-lm/model.onnx
    kind: decoder
    eval: { dataset: models/story-lm/eval.jsonl, tokenizer: models/story-lm/tokenizer.json }
    variants:
      - id: int8
        passes: [ { quantize: { weights: int8 } } ]
devices:
  - id: rpi5
    runs-on: [self-hosted, linux, arm64, rpi5]
    execution-providers: [cpu]
gates:
  - variants: [int8]
    require:
      kl-divergence: { max: 0.05 }
      top-1-agreement: { min: 90% }
release:
  channel: stable
  targets: { rpi5: int8 }
  rollout:
    stages: [ { percent: 100 } ]
`;

interface AgentEvent {
  readonly event: string;
  readonly version?: string;
  readonly outcome?: string;
  readonly bytes?: number;
  readonly loadMs?: number;
  readonly latencyMs?: number;
  readonly [field: string]: unknown;
}

let work: string;
/** The empty npm project the packed CLI is installed into. */
let project: string;
/** The maintainer's model repository (its own git repository, inside the project so `npx slmops` finds the install). */
let maintainer: string;
/** The device's files: its configuration, trust anchor and install directory. */
let device: string;
let keys: Record<string, string>;
let nginx: NginxServer | undefined;

/** `npx slmops <args>` in `cwd` with `env` added, never a stack trace. */
function slmops(args: readonly string[], cwd: string, env: Record<string, string> = {}): Run {
  const r = run("npx", ["--no-install", "slmops", ...args], { cwd, env: userEnv(env), timeout: 180_000 });
  expect(hasStackTrace(r.stderr), `slmops ${args.join(" ")}:\n${r.stderr}`).toBe(false);
  return r;
}

function mustSucceed(args: readonly string[], cwd: string, env: Record<string, string> = {}): Run {
  const r = slmops(args, cwd, env);
  expect(r.status, `slmops ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

function events(text: string): AgentEvent[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as AgentEvent);
}

const names = (list: readonly AgentEvent[]) => list.map((e) => (e.event === "idle" ? `idle:${String(e.outcome)}` : e.event));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "slmops-packed-agent-"));
  const { tarball } = packCli(join(work, "tarball"));
  project = join(work, "project");
  installTarball(project, tarball);

  // The maintainer's side, through the installed CLI: a model, its variant built, benchmarked and gated.
  maintainer = join(project, "models-repo");
  mkdirSync(maintainer);
  execFileSync("git", ["init", "--quiet", "--initial-branch=main"], { cwd: maintainer });
  mustSucceed(["make-model", "--preset", "nano", "--out", "models/story-lm"], maintainer);
  writeFileSync(join(maintainer, "slmops.yaml"), MANIFEST);
  writeFileSync(join(maintainer, ".gitignore"), ".slmops/\nreports/\nrepo/\nkeys.env\nverdict.json\n");
  execFileSync("git", ["add", "--", "slmops.yaml", ".gitignore", "models"], { cwd: maintainer });
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "--quiet", "-m", "story-lm"], { cwd: maintainer });
  mustSucceed(["optimize"], maintainer);
  mustSucceed(["bench", "--device", "rpi5", "--warmup", "1", "--min-iterations", "2", "--min-duration", "1ms", "--prompt-tokens", "8", "--generate-tokens", "4", "--out", "reports/rpi5.json"], maintainer);
  const gate = mustSucceed(["gate", "reports", "--device", "rpi5", "--json"], maintainer);
  expect((JSON.parse(gate.stdout) as { outcome: string }).outcome).toBe("pass");
  writeFileSync(join(maintainer, "verdict.json"), gate.stdout);

  // Signed into a TUF repository and rolled out.
  mustSucceed(["keys", "init", "--out-env", "keys.env"], maintainer);
  keys = Object.fromEntries(
    readFileSync(join(maintainer, "keys.env"), "utf8")
      .trim()
      .split("\n")
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  const built = mustSucceed(["release", "build", "--repo", "repo", "--version", "1.0.0", "--verdict", "verdict.json"], maintainer, keys);
  expect(built.stdout).toContain("Published story-lm 1.0.0 on stable");
  const promoted = mustSucceed(["release", "promote", "--repo", "repo"], maintainer, { SLMOPS_ROLLOUT_KEY: keys["SLMOPS_ROLLOUT_KEY"] ?? "", SLMOPS_SNAPSHOT_KEY: keys["SLMOPS_SNAPSHOT_KEY"] ?? "", SLMOPS_TIMESTAMP_KEY: keys["SLMOPS_TIMESTAMP_KEY"] ?? "" });
  expect(promoted.stdout).toContain("stage 1 of 1 (100%)");

  // The device: the repository's first root installed with it, as the README says.
  device = join(project, "device");
  mkdirSync(device);
  copyFileSync(join(maintainer, "repo", "metadata", "1.root.json"), join(device, "1.root.json"));
}, 600_000);

afterAll(async () => {
  await nginx?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(skipWithoutNginx())("the installed slmops agent against Debian's nginx serving a signed repository", { timeout: 300_000 }, () => {
  it("installs nothing of the workspace: the agent is in the bundle", () => {
    expect(readdirSync(join(project, "node_modules", "@slmops"))).toEqual(["cli"]);
    const dist = readdirSync(join(project, "node_modules", "@slmops", "cli", "dist")).sort();
    expect(dist.filter((f) => !/^chunk-[A-Z0-9]+\.js$/.test(f))).toEqual(["bin.js", "worker.js"]);
  });

  it("agent init writes the device's configuration; agent once takes the release up, health-checked, and switches active to it", async () => {
    nginx = await startNginx({ root: join(maintainer, "repo") });
    const installDir = join(device, "install");
    const init = mustSucceed(
      ["agent", "init", "--manifest", "models-repo/slmops.yaml", "--device-class", "rpi5", "--repository", nginx.url, "--device-id", "kiosk-1", "--install-dir", installDir, "--trusted-root", join(device, "1.root.json"), "--config", "device/agent.yaml", "--systemd-unit", "device/slmops-agent.service"],
      project,
    );
    expect(init.stdout).toContain("Wrote device/agent.yaml (story-lm on stable for rpi5)");
    expect(readFileSync(join(device, "slmops-agent.service"), "utf8")).toContain(`ReadWritePaths=${installDir}\n`);

    const once = slmops(["agent", "once", "--config", "agent.yaml"], device);
    expect(once.status, `${once.stdout}\n${once.stderr}`).toBe(0);
    const seen = events(once.stdout);
    expect(names(seen)).toEqual(["checking", "downloading", "verifying", "installing", "health-checking", "active"]);
    for (const e of seen) expect(e).toMatchObject({ device: "kiosk-1", deviceClass: "rpi5", model: "story-lm", channel: "stable" });

    // The health check ran, in the installed onnxruntime-node: the `active` event carries its figures.
    const active = seen.at(-1) as AgentEvent;
    expect(active.version).toBe("1.0.0");
    expect(active.loadMs).toBeGreaterThan(0);
    expect(active.latencyMs).toBeGreaterThan(0);
    expect(active.latencyMs).toBeLessThan(2_000); // within init's budget

    // `active` points at the release, whose model is the variant the maintainer built, byte for byte.
    const link = readlinkSync(join(installDir, "active"));
    expect(link).toMatch(/^versions\/1\.0\.0-[0-9a-f]{12}$/);
    const record = JSON.parse(readFileSync(join(installDir, "active", "release.json"), "utf8")) as { version: string; model: string; channel: string; variant: string; deviceClass: string; modelFile: string };
    expect(record).toMatchObject({ version: "1.0.0", model: "story-lm", channel: "stable", variant: "int8", deviceClass: "rpi5", modelFile: "model.onnx" });
    const built = readFileSync(join(maintainer, ".slmops", "variants", "story-lm", "int8", "model.onnx"));
    expect(readFileSync(join(installDir, "active", "model.onnx")).equals(built)).toBe(true);
    expect(seen.find((e) => e.event === "downloading")?.bytes).toBe(built.length);

    // The model came from nginx, by its content address.
    const served = await nginx.waitForLog((e) => /^\/targets\/stable\/story-lm\/1\.0\.0\/rpi5\/[0-9a-f]{64}\.model\.onnx$/.test(e.path), { timeoutMs: 5_000 });
    expect(served.status).toBe(200);
    expect(served.bodyBytesSent).toBe(built.length);

    const status = mustSucceed(["agent", "status", "--json", "--config", "agent.yaml"], device);
    const state = JSON.parse(status.stdout) as { active: { version: string; path: string } | null; pending: unknown; failures: number; lastCheck: string | null };
    expect(state.active?.version).toBe("1.0.0");
    expect(state.active?.path).toBe(join(installDir, link, "model.onnx"));
    expect(state.pending).toBeNull();
    expect(state.failures).toBe(0);
    expect(state.lastCheck).not.toBeNull();

    // Checked again: up to date, nothing downloaded.
    nginx.clearLogs();
    const again = slmops(["agent", "once", "--config", "agent.yaml"], device);
    expect(again.status, again.stderr).toBe(0);
    expect(names(events(again.stdout))).toEqual(["checking", "idle:up-to-date"]);
    expect(nginx.logs().filter((e) => e.path.startsWith("/targets/stable/"))).toEqual([]);
    expect(readlinkSync(join(installDir, "active"))).toBe(link);
  });
});
