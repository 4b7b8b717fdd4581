/**
 * `slmops agent init` (the built CLI, as a child process): from a project's
 * slmops.yaml it writes a device's agent configuration, which the agent's
 * own loader accepts, and a systemd unit, which systemd's own checker
 * accepts when it is installed; it overwrites neither, and refuses a device
 * class the release does not ship to and a missing repository with one clear
 * message, no stack trace.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadAgentConfig } from "@slmops/agent";
import { beforeAll, describe, expect, it } from "vitest";
import { hasStackTrace, runCli, type CliRun } from "./test-support/run-cli.js";

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
  - id: jetson
    runs-on: [self-hosted, linux, arm64, jetson]
    execution-providers: [cpu]
gates:
  - variants: [int8]
    require:
      kl-divergence: { max: 0.05 }
release:
  channel: beta
  targets: { rpi5: int8 }
  rollout:
    stages: [ { percent: 10 }, { percent: 100 } ]
`;

/** A made model, shared by every project (copied, not made again). */
let models: string;

beforeAll(() => {
  models = mkdtempSync(join(tmpdir(), "slmops-agent-init-models-"));
  const made = runCli(["make-model", "--preset", "nano", "--out", join(models, "story-lm")], { cwd: models });
  expect(made.status, made.stderr).toBe(0);
}, 120_000);

function project(manifest = MANIFEST): string {
  const dir = mkdtempSync(join(tmpdir(), "slmops-agent-init-"));
  cpSync(models, join(dir, "models"), { recursive: true });
  writeFileSync(join(dir, "slmops.yaml"), manifest);
  return dir;
}

function init(dir: string, args: readonly string[]): CliRun {
  const r = runCli(["agent", "init", ...args], { cwd: dir });
  expect(hasStackTrace(r.stderr), r.stderr).toBe(false);
  return r;
}

/** The unit file's `[Section]` → key → values (a key may repeat). */
function unitOf(text: string): Record<string, Record<string, string[]>> {
  const sections: Record<string, Record<string, string[]>> = {};
  let current: Record<string, string[]> | undefined;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const section = /^\[(\w+)\]$/.exec(line);
    if (section?.[1]) {
      current = sections[section[1]] = {};
      continue;
    }
    const eq = line.indexOf("=");
    expect(eq, line).toBeGreaterThan(0);
    expect(current, line).toBeDefined();
    (current as Record<string, string[]>)[line.slice(0, eq)] ??= [];
    (current as Record<string, string[]>)[line.slice(0, eq)]?.push(line.slice(eq + 1));
  }
  return sections;
}

const systemdAnalyze = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" }).status === 0;

describe("slmops agent init", { timeout: 120_000 }, () => {
  it("writes a configuration the agent loads, for the device class's model and the release's channel", async () => {
    const dir = project();
    const r = init(dir, ["--device-class", "rpi5", "--repository", "https://models.example.com/edge/", "--device-id", "kiosk-7", "--install-dir", "/srv/models", "--trusted-root", "/etc/slmops/root.json", "--config", "device/agent.yaml", "--systemd-unit", "device/slmops-agent.service"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("Wrote device/agent.yaml (story-lm on beta for rpi5) and device/slmops-agent.service.");
    expect(r.stdout).toContain("sudo cp device/slmops-agent.service /etc/systemd/system/slmops-agent.service");

    const config = await loadAgentConfig(join(dir, "device", "agent.yaml"));
    expect(config).toMatchObject({
      repository: "https://models.example.com/edge",
      channel: "beta",
      model: "story-lm",
      device: { id: "kiosk-7", class: "rpi5" },
      installDir: "/srv/models",
      trustedRoot: "/etc/slmops/root.json",
      pollMs: 300_000,
      healthCheck: { budgetMs: 2_000, timeoutMs: 120_000 },
      backoff: { initialMs: 30_000, maxMs: 3_600_000 },
      events: "-",
    });
  });

  it("by default reads the device id from /etc/machine-id and installs under /var/lib/slmops, which the unit makes its state directory", async () => {
    const dir = project();
    const r = init(dir, ["--device-class", "rpi5", "--repository", "http://10.0.0.2:8080"]);
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(join(dir, "slmops-agent.yaml"), "utf8");
    expect(text).toMatch(/^ {2}id-file: \/etc\/machine-id\b/m);
    // The same file with the id file at hand on this machine: loaded as the device would load it.
    writeFileSync(join(dir, "machine-id"), "3f2a9c1e0b7d4c5590ab11c2d4e5f607\n");
    writeFileSync(join(dir, "here.yaml"), text.replace("/etc/machine-id", "machine-id"));
    const config = await loadAgentConfig(join(dir, "here.yaml"));
    expect(config.device).toEqual({ id: "3f2a9c1e0b7d4c5590ab11c2d4e5f607", class: "rpi5" });
    expect(config.installDir).toBe("/var/lib/slmops");
    expect(config.trustedRoot).toBe("/etc/slmops/1.root.json");

    const unit = unitOf(readFileSync(join(dir, "slmops-agent.service"), "utf8"));
    expect(Object.keys(unit)).toEqual(["Unit", "Service", "Install"]);
    expect(unit["Unit"]?.["After"]).toEqual(["network-online.target"]);
    expect(unit["Service"]?.["ExecStart"]).toEqual(["/usr/bin/env slmops agent run --config /etc/slmops/agent.yaml"]);
    expect(unit["Service"]?.["Restart"]).toEqual(["always"]);
    expect(unit["Service"]?.["StateDirectory"]).toEqual(["slmops"]);
    expect(unit["Service"]?.["ProtectSystem"]).toEqual(["strict"]);
    expect(unit["Service"]?.["ReadWritePaths"]).toEqual(["/var/lib/slmops"]);
    expect(unit["Install"]?.["WantedBy"]).toEqual(["multi-user.target"]);
  });

  it.skipIf(!systemdAnalyze)("writes units systemd's own checker accepts without a warning", () => {
    const dir = project();
    expect(init(dir, ["--device-class", "rpi5", "--repository", "https://models.example.com/edge"]).status).toBe(0);
    expect(init(dir, ["--device-class", "rpi5", "--repository", "https://models.example.com/edge", "--install-dir", "/opt/models", "--config", "b.yaml", "--systemd-unit", "other/slmops-agent.service"]).status).toBe(0);
    for (const unit of ["slmops-agent.service", join("other", "slmops-agent.service")]) {
      const checked = spawnSync("systemd-analyze", ["verify", join(dir, unit)], { encoding: "utf8" });
      expect(checked.status, checked.stderr).toBe(0);
      expect(checked.stderr.split("\n").filter((l) => l.includes("slmops-agent.service")), unit).toEqual([]);
    }
  });

  it("an install directory outside /var/lib gets no state directory, and the unit says it must exist", () => {
    const dir = project();
    expect(init(dir, ["--device-class", "rpi5", "--repository", "https://models.example.com/edge", "--install-dir", "/opt/models"]).status).toBe(0);
    const text = readFileSync(join(dir, "slmops-agent.service"), "utf8");
    const unit = unitOf(text);
    expect(unit["Service"]?.["StateDirectory"]).toBeUndefined();
    expect(unit["Service"]?.["ReadWritePaths"]).toEqual(["/opt/models"]);
    expect(text).toContain("# /opt/models must exist before the service starts");
  });

  it("overwrites neither the configuration nor the unit: each refused, nothing written", () => {
    const dir = project();
    const args = ["--device-class", "rpi5", "--repository", "https://models.example.com/edge"];
    expect(init(dir, args).status).toBe(0);
    const config = readFileSync(join(dir, "slmops-agent.yaml"), "utf8");
    const unit = readFileSync(join(dir, "slmops-agent.service"), "utf8");

    const again = init(dir, [...args, "--device-id", "other"]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("error: slmops-agent.yaml already exists; it is not overwritten — choose another path (--config / --systemd-unit) or move it away");
    // Only the unit exists at the paths given: refused before the new configuration is written.
    const unitOnly = init(dir, [...args, "--config", "new.yaml"]);
    expect(unitOnly.status).toBe(1);
    expect(unitOnly.stderr).toContain("error: slmops-agent.service already exists; it is not overwritten");
    expect(existsSync(join(dir, "new.yaml"))).toBe(false);
    // A link where the configuration would go (even one to nothing yet) is not written through either.
    mkdirSync(join(dir, "elsewhere"));
    symlinkSync(join(dir, "elsewhere", "agent.yaml"), join(dir, "link.yaml"));
    const linked = init(dir, [...args, "--config", "link.yaml", "--systemd-unit", "new.service"]);
    expect(linked.status).toBe(1);
    expect(linked.stderr).toContain("error: link.yaml already exists; it is not overwritten");
    expect(existsSync(join(dir, "elsewhere", "agent.yaml"))).toBe(false);
    expect(existsSync(join(dir, "new.service"))).toBe(false);
    expect(readFileSync(join(dir, "slmops-agent.yaml"), "utf8")).toBe(config);
    expect(readFileSync(join(dir, "slmops-agent.service"), "utf8")).toBe(unit);
  });

  it("refuses a device class the release does not ship to, naming the ones it does", () => {
    const dir = project();
    // jetson is a device of the manifest, but not one of release.targets.
    for (const deviceClass of ["jetson", "rpi4"]) {
      const r = init(dir, ["--device-class", deviceClass, "--repository", "https://models.example.com/edge"]);
      expect(r.status, deviceClass).toBe(1);
      expect(r.stderr).toContain(`error: device class ${deviceClass} is not in slmops.yaml's release.targets (it has rpi5)`);
      expect(r.stdout).toBe("");
    }
    expect(existsSync(join(dir, "slmops-agent.yaml"))).toBe(false);
    expect(existsSync(join(dir, "slmops-agent.service"))).toBe(false);
  });

  it("refuses a missing or non-http --repository, and a missing --device-class, as usage errors", () => {
    const dir = project();
    for (const args of [["--device-class", "rpi5"], ["--device-class", "rpi5", "--repository", "models.example.com/edge"], ["--device-class", "rpi5", "--repository", "file:///srv/repo"]]) {
      const r = init(dir, args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toContain("error: `agent init` needs `--repository <url>`: the release repository's URL as the device reaches it (http or https).");
    }
    const noClass = init(dir, ["--repository", "https://models.example.com/edge"]);
    expect(noClass.status).toBe(2);
    expect(noClass.stderr).toContain("error: `agent init` needs `--device-class <id>`");
    expect(existsSync(join(dir, "slmops-agent.yaml"))).toBe(false);
  });

  it("refuses device paths that are relative or hold spaces, and a device id with spaces", () => {
    const dir = project();
    const base = ["--device-class", "rpi5", "--repository", "https://models.example.com/edge"];
    const relative = init(dir, [...base, "--install-dir", "models"]);
    expect(relative.status).toBe(2);
    expect(relative.stderr).toContain("error: `--install-dir` is a path on the device: give it absolute and without spaces (e.g. /var/lib/slmops), not `models`.");
    const spaced = init(dir, [...base, "--trusted-root", "/etc/slmops/my root.json"]);
    expect(spaced.status).toBe(2);
    expect(spaced.stderr).toContain("error: `--trusted-root` is a path on the device");
    const id = init(dir, [...base, "--device-id", "kiosk 7"]);
    expect(id.status).toBe(2);
    expect(id.stderr).toContain("error: `--device-id` is this device's id");
    expect(existsSync(join(dir, "slmops-agent.yaml"))).toBe(false);
  });

  it("refuses a manifest without a release section", () => {
    const dir = project(MANIFEST.slice(0, MANIFEST.indexOf("release:")));
    const r = init(dir, ["--device-class", "rpi5", "--repository", "https://models.example.com/edge"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error: slmops.yaml has no `release:` section; a device takes up releases of the models it names");
  });
});
