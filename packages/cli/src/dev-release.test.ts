/**
 * A release on one machine, as the example project's main job makes it:
 * throwaway development keys (`keys init --dev`, labelled as such), a
 * release of one device class of release.targets (`release build --device`),
 * the repository served by `release serve`, and an agent set up by
 * `agent init` taking the release up from it. Real processes throughout.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envFile } from "./test-support/release-repository.js";
import { binPath, hasStackTrace, runCli, type CliRun } from "./test-support/run-cli.js";

const MANIFEST = `version: 1
models:
  - id: story-lm
    source: models/story-lm/model.onnx
    kind: decoder
    variants:
      - id: tidy
        passes: [ { graph-optimize: { level: basic } } ]
devices:
  - id: local
    runs-on: [self-hosted]
    execution-providers: [cpu]
  - id: rpi5
    runs-on: [self-hosted, rpi5]
    execution-providers: [cpu]
gates:
  - name: size
    devices: [local, rpi5]
    variants: [tidy]
    require: { model-size: { max: 64MiB } }
release:
  channel: stable
  targets: { local: tidy, rpi5: tidy }
  rollout:
    stages: [ { percent: 100 } ]
`;

let dir: string;
let serve: ChildProcess | undefined;
const runs: CliRun[] = [];

function slmops(args: readonly string[], env: Record<string, string> = {}): CliRun {
  const r = runCli(args, { cwd: dir, env });
  runs.push(r);
  expect(hasStackTrace(r.stderr), r.stderr).toBe(false);
  return r;
}

function startServe(args: readonly string[]): Promise<string> {
  const child = spawn(process.execPath, [binPath, "release", "serve", ...args], { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
  serve = child;
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`release serve did not start:\n${out}`)), 30_000);
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      out += text;
      const url = /on (http:\/\/\S+) \(read-only\)/.exec(out)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.stderr.setEncoding("utf8").on("data", (text: string) => (out += text));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`release serve exited ${String(code)}:\n${out}`));
    });
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "slmops-dev-release-"));
  expect(slmops(["make-model", "--preset", "nano", "--out", "models/story-lm"]).status).toBe(0);
  writeFileSync(join(dir, "slmops.yaml"), MANIFEST);
  // A release records its source commit: the project is a git repository with one.
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=dev", "-c", "user.email=dev@example.com", ...args], { cwd: dir, stdio: "ignore" });
  git("init", "-q");
  git("add", "slmops.yaml");
  git("commit", "-qm", "the manifest");
  const built = slmops(["optimize"]);
  expect(built.status, built.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  serve?.kill("SIGTERM");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a development release on this machine: dev keys, build --device, release serve, an agent (real processes)", { timeout: 180_000 }, () => {
  it("keys init --dev labels its keys as throwaway, in the file and the output, and prints no key", () => {
    const r = slmops(["keys", "init", "--dev", "--out-env", "dev-keys.env"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("throwaway DEVELOPMENT keys to dev-keys.env (mode 0600)");
    expect(r.stdout).not.toContain("gh secret set"); // never suggested for these
    const text = readFileSync(join(dir, "dev-keys.env"), "utf8");
    expect(text.split("\n")[0]).toMatch(/^# slmops DEVELOPMENT keys: throwaway/);
    expect((statSync(join(dir, "dev-keys.env")).mode & 0o777).toString(8)).toBe("600");
    const keys = envFile(join(dir, "dev-keys.env"));
    expect(Object.keys(keys).sort()).toEqual(["SLMOPS_ROLLOUT_KEY", "SLMOPS_ROOT_KEY", "SLMOPS_SNAPSHOT_KEY", "SLMOPS_TARGETS_KEY", "SLMOPS_TIMESTAMP_KEY"]);
    for (const secret of Object.values(keys)) expect(r.stdout + r.stderr).not.toContain(secret);
  });

  it("release build --device releases that device class alone, refuses one release.targets lacks, and an agent takes the release up from release serve", async () => {
    const keys = envFile(join(dir, "dev-keys.env"));
    const unknown = slmops(["release", "build", "--repo", "dev-release", "--device", "local,jetson", "--force"], keys);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain("slmops.yaml's release.targets has no device class `jetson`; it releases to `local`, `rpi5`.");

    const built = slmops(["release", "build", "--repo", "dev-release", "--device", "local", "--force", "--version", "0.1.0"], keys);
    expect(built.status, built.stderr).toBe(0);
    expect(built.stdout).toContain("Published story-lm 0.1.0 on stable: 1 file(s) for local (forced)");
    const targets = JSON.parse(readFileSync(join(dir, "dev-release", "metadata", "2.targets.json"), "utf8")) as { signed: { targets: Record<string, unknown> } };
    expect(Object.keys(targets.signed.targets).filter((p) => p.endsWith(".onnx"))).toEqual(["stable/story-lm/0.1.0/local/model.onnx"]);
    const promoted = slmops(["release", "promote", "--repo", "dev-release"], keys);
    expect(promoted.status, promoted.stderr).toBe(0);

    const missing = slmops(["release", "serve", "--repo", "no-such-repo"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("no-such-repo is not a release repository (no metadata/1.root.json)");

    const url = await startServe(["--repo", "dev-release", "--port", "0"]);
    const busy = slmops(["release", "serve", "--repo", "dev-release", "--port", new URL(url).port]);
    expect(busy.status).toBe(1);
    expect(busy.stderr).toContain(`port ${new URL(url).port} on 127.0.0.1 is in use`);

    const init = slmops([
      "agent", "init", "--device-class", "local", "--repository", url, "--device-id", "dev-box-1",
      "--install-dir", join(dir, "device", "install"), "--trusted-root", join(dir, "dev-release", "metadata", "1.root.json"),
      "--config", "device/agent.yaml", "--systemd-unit", "device/slmops-agent.service",
    ]);
    expect(init.status, init.stderr).toBe(0);
    const once = slmops(["agent", "once", "--config", "device/agent.yaml"]);
    expect(once.status, `${once.stdout}\n${once.stderr}`).toBe(0);
    const events = once.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => (JSON.parse(l) as { event: string }).event);
    expect(events).toEqual(["checking", "downloading", "verifying", "installing", "health-checking", "active"]);
    const status = JSON.parse(slmops(["agent", "status", "--json", "--config", "device/agent.yaml"]).stdout) as { active: { version: string } | null };
    expect(status.active?.version).toBe("0.1.0");

    // The server stops on SIGTERM, saying so.
    const exited = new Promise<number | null>((done) => serve?.once("exit", done));
    serve?.kill("SIGTERM");
    expect(await exited).toBe(0);
    for (const secret of Object.values(keys)) for (const r of runs) expect(r.stdout + r.stderr).not.toContain(secret);
  });
});
