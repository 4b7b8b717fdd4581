import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasStackTrace, runCli } from "./test-support/run-cli.js";

/** This machine's architecture as a runner label, and one it is not. */
const here = process.arch === "arm64" ? "arm64" : "x64";
const other = here === "arm64" ? "x64" : "arm64";

function project(): string {
  const dir = mkdtempSync(join(os.tmpdir(), "slmops-doctor-"));
  writeFileSync(
    join(dir, "slmops.yaml"),
    `version: 1
models:
  - id: m
    source: models/m/model.onnx
    variants: [ { id: int8, passes: [ { quantize: { weights: int8 } } ] } ]
devices:
  - id: same
    runs-on: [self-hosted, ${process.platform === "darwin" ? "macOS" : "linux"}, ${here}]
    execution-providers: [cpu]
    memory-budget: 1MiB
  - id: other-arch
    runs-on: [self-hosted, linux, ${other}, board]
  - id: huge
    runs-on: [self-hosted]
    memory-budget: 64TiB
`,
  );
  return dir;
}

describe("slmops doctor (this machine)", { timeout: 60_000 }, () => {
  it("describes this machine: ONNX Runtime with cpu, the arch node sees, cores, memory", () => {
    const r = runCli(["doctor", "--json"]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { fingerprint: Record<string, unknown>; "cpu-features": string[] };
    expect(out.fingerprint.arch).toBe(process.arch);
    expect(out.fingerprint["execution-providers"]).toContain("cpu");
    expect(out.fingerprint["logical-cores"]).toBe(os.availableParallelism());
    expect(out.fingerprint["memory-bytes"]).toBe(os.totalmem());
    expect(Array.isArray(out["cpu-features"])).toBe(true);
    const text = runCli(["doctor"]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/ONNX Runtime +\d+\.\d+\.\d+ \(execution providers: [^)]*cpu/);
    expect(text.stdout).toMatch(new RegExp(`OS +${process.platform} .*\\(${process.arch}\\)`));
    expect(text.stdout).toMatch(/CPU governor +\S/);
    expect(text.stdout).toMatch(/temperature +(not readable|-?\d+\.\d °C)/);
  });

  it("accepts a device of this machine's arch and refuses one of another, each check with its reason", () => {
    const dir = project();
    const ok = runCli(["doctor", "--device", "same"], { cwd: dir });
    expect(ok.stdout).toContain(`✓ arch                 this machine is ${process.arch}, as \`${here}\` asks`);
    expect(ok.stdout).toContain("✓ this machine can act as device `same`.");
    expect(ok.status).toBe(0);

    const refused = runCli(["doctor", "--device", "other-arch", "--json"], { cwd: dir });
    expect(refused.status).toBe(1);
    const match = (JSON.parse(refused.stdout) as { device: { ok: boolean; checks: { check: string; ok: boolean; reason: string }[] } }).device;
    expect(match.ok).toBe(false);
    expect(match.checks.find((c) => c.check === "arch")).toEqual({ check: "arch", ok: false, reason: `this machine is ${process.arch}; \`${other}\` asks for ${other}` });

    const huge = runCli(["doctor", "--device", "huge"], { cwd: dir });
    expect(huge.status).toBe(1);
    expect(huge.stdout).toMatch(/✗ memory +this machine has [\d.]+ GiB, less than the budget of 65536\.0 GiB/);
  });

  it("an unknown device is one clear error naming the devices", () => {
    const r = runCli(["doctor", "--device", "nope"], { cwd: project() });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("No device `nope` in the manifest; its devices are `same`, `other-arch`, `huge`.");
    expect(hasStackTrace(r.stderr)).toBe(false);
  });
});
