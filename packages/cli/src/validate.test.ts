import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exampleProject } from "@slmops/manifest/testing";
import { hasStackTrace, repoRoot, runCli } from "./test-support/run-cli.js";

const VALID = `version: 1
models:
  - id: tiny
    source: models/tiny.onnx
    kind: decoder
    variants:
      - id: int8
        passes:
          - quantize: { weights: int8 }
devices:
  - id: rpi5
    runs-on: [self-hosted, linux, arm64, rpi5]
    execution-providers: [cpu]
`;

/** A project directory with a manifest and the model file it names. */
function project(manifest: string): string {
  const dir = mkdtempSync(join(tmpdir(), "cli-validate-"));
  mkdirSync(join(dir, "models"));
  writeFileSync(join(dir, "models", "tiny.onnx"), "a file that exists");
  writeFileSync(join(dir, "slmops.yaml"), manifest);
  return dir;
}

/** The valid manifest plus an unknown key on line 14 and a typo'd key on line 17. */
const INVALID = `${VALID}    colour: red
  - id: nuc
    runs-on: [self-hosted, nuc]
    execution-provider: [cpu]
`;

interface ValidateJson {
  valid: boolean;
  file: string;
  diagnostics: { severity: string; code: string; message: string; file: string; line: number; column: number; hint?: string }[];
  manifest?: { models: { id: string }[] };
}

describe("slmops validate (real files, real process)", { timeout: 60_000 }, () => {
  it("accepts a valid manifest: exit 0, one summary line", () => {
    const dir = project(VALID);
    const r = runCli(["validate"], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("✓ slmops.yaml is valid.\n");
    expect(r.status).toBe(0);
  });

  it("finds slmops.yaml in a directory and shows paths as given", () => {
    const dir = project(VALID);
    const r = runCli(["validate", "."], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("✓ slmops.yaml is valid.\n");
    const nested = runCli(["validate", join(dir, "slmops.yaml")], { cwd: tmpdir() });
    expect(nested.status).toBe(0);
    expect(nested.stdout).toBe(`✓ ${join(dir, "slmops.yaml")} is valid.\n`);
  });

  it("prints file:line:col: error: lines with hints, a summary, exit 1", () => {
    const dir = project(INVALID);
    const r = runCli(["validate", "slmops.yaml"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trimEnd().split("\n");
    const errors = lines.filter((l) => /^slmops\.yaml:\d+:\d+: error: /.test(l));
    expect(errors.map((l) => l.split(":").slice(1, 3).join(":"))).toEqual(["14:5", "17:5"]);
    expect(errors[0]).toContain("colour");
    expect(r.stdout).toMatch(/execution-provider[\s\S]*\n {2}hint: .*execution-providers/);
    expect(lines.at(-1)).toBe("✗ slmops.yaml is invalid: 2 errors.");
    expect(r.stdout).not.toContain("\u001b[");
    expect(hasStackTrace(r.stdout + r.stderr)).toBe(false);
  });

  it("shows ids with newlines, ESC and bidi overrides escaped, one diagnostic per line", () => {
    const hostile = VALID.replace("  - id: rpi5", '  - id: "rpi5\\u202e\\nslmops.yaml:1:1: error: \\e[31mforged\\a"');
    const r = runCli(["validate"], { cwd: project(hostile) });
    expect(r.status).toBe(1);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.filter((l) => l.startsWith("slmops.yaml:"))).toHaveLength(1);
    expect(lines[0]).toMatch(/^slmops\.yaml:\d+:\d+: error: `rpi5\\u202e\\nslmops\.yaml:1:1: error: \\x1b\[31m/);
    expect([...r.stdout].filter((c) => c !== "\n" && (c.charCodeAt(0) < 0x20 || (c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) <= 0x9f) || c === "\u202e"))).toEqual([]);
  });

  it("--json prints {valid, diagnostics, manifest} and nothing else on stdout", () => {
    const good = runCli(["validate", "--json"], { cwd: project(VALID) });
    expect(good.status).toBe(0);
    const ok = JSON.parse(good.stdout) as ValidateJson;
    expect(ok.valid).toBe(true);
    expect(ok.diagnostics).toEqual([]);
    expect(ok.manifest?.models.map((m) => m.id)).toEqual(["tiny"]);

    const bad = runCli(["validate", "--json", "slmops.yaml"], { cwd: project(INVALID) });
    expect(bad.status).toBe(1);
    const report = JSON.parse(bad.stdout) as ValidateJson;
    expect(report.valid).toBe(false);
    expect(report.manifest).toBeUndefined();
    expect(report.file).toBe("slmops.yaml");
    expect(report.diagnostics.map((d) => [d.file, d.line, d.column, d.severity])).toEqual([
      ["slmops.yaml", 14, 5, "error"],
      ["slmops.yaml", 17, 5, "error"],
    ]);
  });

  it("reports a YAML syntax error at its place", () => {
    const dir = project("version: 1\nmodels:\n  - id: [unclosed\n");
    const r = runCli(["validate"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^slmops\.yaml:\d+:\d+: error: /);
    expect(hasStackTrace(r.stdout + r.stderr)).toBe(false);
  });

  it("says clearly when there is no manifest, exit 1, no stack trace", () => {
    const empty = mkdtempSync(join(tmpdir(), "cli-empty-"));
    const r = runCli(["validate"], { cwd: empty });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^error: No slmops\.yaml in .+\. Run slmops in the repository that holds it, or pass its path/);
    const named = runCli(["validate", "nope/slmops.yaml", "--json"], { cwd: empty });
    expect(named.status).toBe(1);
    expect(named.stdout).toBe("");
    expect(named.stderr).toBe("error: nope/slmops.yaml: no such file or directory. Check the path, or pass the directory that holds slmops.yaml.\n");
    const root = runCli(["validate", "--root", "missing-dir"], { cwd: project(VALID) });
    expect(root.status).toBe(1);
    expect(root.stderr).toBe("error: --root missing-dir: not a directory. Pass the repository's top directory.\n");
  });

  it("accepts the repository's example manifest", async () => {
    const dir = await exampleProject(join(repoRoot, "examples", "story-lm", "slmops.yaml"));
    const r = runCli(["validate", "--json"], { cwd: dir });
    const report = JSON.parse(r.stdout) as ValidateJson;
    expect(report.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(report.valid).toBe(true);
    expect(r.status).toBe(0);
  });
});
