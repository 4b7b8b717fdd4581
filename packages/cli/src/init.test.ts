import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { hasStackTrace, runCli } from "./test-support/run-cli.js";

const QUICK = ["--warmup", "1", "--min-iterations", "2", "--min-duration", "100ms", "--prompt-tokens", "8", "--generate-tokens", "4"];

/**
 * `slmops make-model --preset nano --out models/story-lm`, run once: every
 * project gets a copy of what it wrote (the same bytes wherever it runs), not
 * a model made again.
 */
let made: string;

beforeAll(() => {
  made = mkdtempSync(join(tmpdir(), "slmops-init-made-"));
  const r = runCli(["make-model", "--preset", "nano", "--out", "models/story-lm"], { cwd: made });
  expect(r.status, r.stderr).toBe(0);
}, 120_000);

/** A git repository holding a model made by `slmops make-model` in the repository layout. */
function madeProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "slmops-init-"));
  execFileSync("git", ["init", "--quiet", "--initial-branch=trunk"], { cwd: dir });
  cpSync(join(made, "models"), join(dir, "models"), { recursive: true });
  return dir;
}

describe("slmops init (a project made by make-model, then the whole loop)", { timeout: 300_000 }, () => {
  it("writes a manifest that validates and runs through optimize → bench --device local → gate at once", () => {
    const dir = madeProject();
    const init = runCli(["init"], { cwd: dir });
    expect(init.stderr).toBe("");
    expect(init.status).toBe(0);
    expect(init.stdout).toContain("model story-lm (decoder) from models/story-lm/model.onnx, eval models/story-lm/eval.jsonl");

    const manifest = readFileSync(join(dir, "slmops.yaml"), "utf8");
    expect(manifest.split("\n")[0]).toBe("# yaml-language-server: $schema=https://raw.githubusercontent.com/slmops/slmops/v1/schemas/slmops.schema.json");
    expect(manifest).toContain("  - id: local\n");
    expect(manifest).not.toMatch(/^ +(decode-)?(latency-p\d+|ttft|tokens-per-second):/m);
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toContain("\n.slmops/\n");
    const workflow = readFileSync(join(dir, ".github", "workflows", "models.yml"), "utf8");
    expect(workflow).toContain("uses: slmops/slmops/.github/workflows/slmops.yml@v1");
    expect(workflow).toContain('branches: ["trunk"]');
    expect(workflow).toContain('manifest: "slmops.yaml"');

    expect(runCli(["validate"], { cwd: dir }).status).toBe(0);
    const optimize = runCli(["optimize"], { cwd: dir });
    expect(optimize.status, optimize.stderr).toBe(0);
    const bench = runCli(["bench", "--device", "local", "--out", ".slmops/reports/local.json", ...QUICK], { cwd: dir });
    expect(bench.status, bench.stderr).toBe(0);
    const gate = runCli(["gate", ".slmops/reports", "--json"], { cwd: dir });
    expect(gate.status, gate.stdout + gate.stderr).toBe(0);
    expect((JSON.parse(gate.stdout) as { outcome: string }).outcome).toBe("pass");
  });

  it("refuses to overwrite without --force, naming the files; never duplicates the .gitignore entry", () => {
    const dir = madeProject();
    writeFileSync(join(dir, ".gitignore"), "node_modules/\n.slmops/");
    expect(runCli(["init"], { cwd: dir }).status).toBe(0);
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toBe("node_modules/\n.slmops/");
    writeFileSync(join(dir, "slmops.yaml"), "# mine\n");
    const again = runCli(["init"], { cwd: dir });
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("slmops.yaml and .github/workflows/models.yml already exist; nothing was written. Pass --force to overwrite");
    expect(hasStackTrace(again.stderr)).toBe(false);
    expect(readFileSync(join(dir, "slmops.yaml"), "utf8")).toBe("# mine\n");
    const forced = runCli(["init", "--force", "--model", "models/story-lm/model.onnx"], { cwd: dir });
    expect(forced.status, forced.stderr).toBe(0);
    expect(readFileSync(join(dir, "slmops.yaml"), "utf8")).toContain("source: models/story-lm/model.onnx");
  });

  it("without a model says where it looked and how to make one", () => {
    const dir = mkdtempSync(join(tmpdir(), "slmops-init-empty-"));
    const r = runCli(["init"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("No model found in .: looked for models/<id>/model.onnx and model.onnx.");
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it("bench --device on a machine that does not match the device warns, goes on, and records the real fingerprint", () => {
    const dir = madeProject();
    expect(runCli(["init"], { cwd: dir }).status).toBe(0);
    const other = process.arch === "arm64" ? "x64" : "arm64";
    const text = readFileSync(join(dir, "slmops.yaml"), "utf8").replace("\nbench:\n", `  - id: board\n    runs-on: [self-hosted, linux, ${other}]\n\nbench:\n`);
    writeFileSync(join(dir, "slmops.yaml"), text);
    expect(runCli(["optimize"], { cwd: dir }).status).toBe(0);
    const bench = runCli(["bench", "--device", "board", "--variant", "int8", "--out", "board.json", ...QUICK], { cwd: dir });
    expect(bench.status, bench.stderr).toBe(0);
    expect(bench.stderr).toContain(`warning: this machine does not match device \`board\`: this machine is ${process.arch}; \`${other}\` asks for ${other}.`);
    const report = JSON.parse(readFileSync(join(dir, "board.json"), "utf8")) as { device: { id: string; fingerprint: { arch: string } } };
    expect(report.device.id).toBe("board");
    expect(report.device.fingerprint.arch).toBe(process.arch);
  });
});
