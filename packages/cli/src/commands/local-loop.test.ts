import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { hasStackTrace, repoRoot, runCli } from "../test-support/run-cli.js";

/** The manifest the README shows in its `slmops.yaml` section, as a user would copy it. */
function readmeManifest(): string {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## slmops.yaml"));
  const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/gu)].map((m) => m[1] ?? "");
  const manifest = blocks.find((b) => b.includes("models:"));
  if (manifest === undefined) throw new Error("README.md's slmops.yaml section shows no manifest");
  return manifest;
}

/** Short run rules, through the flags, so the loop takes seconds. */
const QUICK = ["--warmup", "1", "--min-iterations", "3", "--min-duration", "10ms", "--prompt-tokens", "8", "--generate-tokens", "4"];

/**
 * `slmops make-model --preset nano --out models/story-lm`, run once: every
 * project gets a copy of what it wrote (the same bytes wherever it runs), not
 * a model made again.
 */
let made: string;

beforeAll(() => {
  made = mkdtempSync(join(tmpdir(), "slmops-loop-made-"));
  const r = runCli(["make-model", "--preset", "nano", "--out", "models/story-lm"], { cwd: made });
  expect(r.stderr).not.toMatch(/error/u);
  expect(r.status).toBe(0);
}, 120_000);

/** A project as the README says: a git repository, make-model's output, the README's manifest. */
function project(manifest: string): { dir: string; sub: string } {
  const dir = mkdtempSync(join(tmpdir(), "slmops-loop-"));
  mkdirSync(join(dir, ".git"));
  cpSync(join(made, "models"), join(dir, "models"), { recursive: true });
  writeFileSync(join(dir, "slmops.yaml"), manifest);
  const sub = join(dir, "docs", "notes");
  mkdirSync(sub, { recursive: true });
  return { dir, sub };
}

interface GateJsonOutput {
  outcome: string;
  verdict: { devices: { device: string; gates: { ref: string; applied: boolean; reason?: string }[]; requirements: { applied: number; total: number } }[] };
}

describe("the local loop in a project of one's own (real processes, real ONNX Runtime)", { timeout: 180_000 }, () => {
  let readme: { dir: string; sub: string };
  beforeAll(() => {
    readme = project(readmeManifest());
  });

  it("optimize → bench --device local → gate, with no paths, from a subdirectory: a verdict, exit 0", () => {
    const { dir, sub } = readme;
    const optimized = runCli(["optimize"], { cwd: sub });
    expect(optimized.stderr).not.toMatch(/^error:/mu);
    expect(optimized.status).toBe(0);
    expect(existsSync(join(dir, ".slmops", "variants", "story-lm", "int4", "model.onnx"))).toBe(true);

    const bench = runCli(["bench", "--device", "local", ...QUICK], { cwd: sub });
    expect(bench.stderr).not.toMatch(/^error:/mu);
    expect(bench.status).toBe(0);
    expect(bench.stdout).toContain("report written to ../../.slmops/reports/local.json");
    const report = JSON.parse(readFileSync(join(dir, ".slmops", "reports", "local.json"), "utf8")) as { device: { id: string } };
    expect(report.device.id).toBe("local");

    const gate = runCli(["gate"], { cwd: sub });
    expect(gate.stderr).toBe("");
    expect(gate.status).toBe(0);
    const [headline] = gate.stdout.split("\n");
    // The README's gates: the rpi5 gate's requirements do not apply to local, and the headline says so.
    expect(headline).toMatch(/^✓ gate passed: (\d+) of (\d+) requirements applied to local; all \d+ checks passed \(no baseline: /u);
    const [, applied, total] = /(\d+) of (\d+)/u.exec(headline ?? "") ?? [];
    expect(Number(applied)).toBeLessThan(Number(total));
    expect(gate.stdout).toMatch(/ {4}does not apply: gates\[0\] "[^"]*" \([^)]*decode-latency-p90[^)]*\): it names devices \[rpi5\]\n/u);
    expect(gate.stdout).toMatch(/ {4}applies: gates\[1\] "[^"]*" \(kl-divergence[^)]*\) on story-lm\/int4, story-lm\/int8\n/u);

    const json = runCli(["gate", "--json"], { cwd: sub });
    expect(json.status).toBe(0);
    const out = JSON.parse(json.stdout) as GateJsonOutput;
    expect(out.outcome).toBe("pass");
    expect(out.verdict.devices.map((d) => d.device)).toEqual(["local"]);
    expect(out.verdict.devices[0]?.gates.map((g) => [g.ref, g.applied, g.reason])).toEqual([
      ["gates[0]", false, "it names devices [rpi5]"],
      ["gates[1]", true, undefined],
    ]);
  });

  it("gate takes the filters of the other commands and refuses one that names nothing", () => {
    const { sub } = readme;
    const int8 = runCli(["gate", "--json", "--variant", "int8", "--model", "story-lm"], { cwd: sub });
    expect(int8.status).toBe(0);
    expect((JSON.parse(int8.stdout) as { verdict: { pairs: { variant: string }[] } }).verdict.pairs.map((p) => p.variant)).toEqual(["story-lm/int8"]);
    const unknown = runCli(["gate", "--variant", "int2"], { cwd: sub });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toBe("error: unknown variant `int2`: the variants are `story-lm/int4`, `story-lm/int8`\n");
    // rpi5 benchmarked nothing here: asked for, it did not report.
    const rpi5 = runCli(["gate", "--device", "local,rpi5"], { cwd: sub });
    expect(rpi5.status).toBe(1);
    expect(rpi5.stdout).toContain('device "rpi5" did not report variant "story-lm/int4"');
  });

  it("with a manifest that defines no `local`, bench --device local and gate use the ad-hoc device", () => {
    const manifest = readmeManifest().replace(/ {2}- id: local\b[^\n]*\n(?: {4}[^\n]*\n)*/u, "");
    expect(manifest).not.toMatch(/id: local/u);
    const { dir } = project(manifest);
    expect(runCli(["optimize", "--variant", "int8"], { cwd: dir }).status).toBe(0);
    const bench = runCli(["bench", "--device", "local", "--variant", "int8", "--no-out", ...QUICK], { cwd: dir });
    expect(bench.status).toBe(0);
    expect(bench.stdout).not.toContain("report written");
    expect(existsSync(join(dir, ".slmops", "reports"))).toBe(false);
    const written = runCli(["bench", "--variant", "int8", ...QUICK], { cwd: dir });
    expect(written.stdout).toContain("report written to .slmops/reports/local.json");
    const gate = runCli(["gate", "--device", "local", "--variant", "int8"], { cwd: dir });
    expect(gate.stderr).toBe("");
    expect(gate.status).toBe(0);
    expect(gate.stdout.split("\n")[0]).toMatch(/^✓ gate passed: \d+ of \d+ requirements applied to local; all \d+ checks passed/u);
  });

  it("gate without a reports directory says to run bench first when there are no reports", () => {
    const { dir } = project(readmeManifest());
    const r = runCli(["gate"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(r.stderr).toBe(
      "error: No bench reports yet: .slmops/reports (beside slmops.yaml) does not exist. Run `slmops bench` first, it writes there, or pass the reports directory: slmops gate <reports-dir>\n",
    );
  });
});

describe("filters and single-valued options take the same forms in every command", { timeout: 120_000 }, () => {
  let dir: string;
  beforeAll(() => {
    dir = project(readmeManifest()).dir;
  });

  it("optimize takes comma-separated and repeated --variant, each built once", () => {
    const r = runCli(["optimize", "--variant", "int8,int4", "--variant", "int8", "--json"], { cwd: dir });
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { variant: string }[]).map((v) => v.variant)).toEqual(["int4", "int8"]);
  });

  it("a repeated single-valued option is refused, naming both values", () => {
    for (const command of ["optimize", "bench"]) {
      const r = runCli([command, "--out", "a", "--out", "b"], { cwd: dir });
      expect(r.status).toBe(2);
      expect(r.stderr.split("\n")[0]).toBe("error: Option `--out` was given 2 times (`a`, `b`); it takes one value.");
    }
    const manifest = runCli(["gate", "--manifest", "slmops.yaml", "--manifest=slmops.yaml"], { cwd: dir });
    expect(manifest.status).toBe(2);
    expect(manifest.stderr).toContain("error: Option `--manifest` was given 2 times");
  });

  it("an empty id in a filter is refused before anything runs", () => {
    for (const command of ["optimize", "bench", "gate"]) {
      const r = runCli([command, "--variant", "int4,"], { cwd: dir });
      expect(r.status).toBe(2);
      expect(r.stderr.split("\n")[0]).toBe("error: Option `--variant` has an empty id in `int4,`.");
    }
  });
});

describe("the manifest is found by walking up, as git finds its repository", { timeout: 60_000 }, () => {
  const manifest = "version: 1\nmodels: []\ndevices: []\n";

  it("finds slmops.yaml in a directory above the working directory, shown relative to it", () => {
    const dir = mkdtempSync(join(tmpdir(), "slmops-walk-"));
    writeFileSync(join(dir, "slmops.yaml"), manifest);
    mkdirSync(join(dir, "a", "b"), { recursive: true });
    const r = runCli(["validate"], { cwd: join(dir, "a", "b") });
    // The manifest found is the one read: its (deliberate) problem is told at its place.
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("../../slmops.yaml:2:9: error: `models` must list at least 1 item\n✗ ../../slmops.yaml is invalid: 1 error.\n");
  });

  it("stops at the top of the git repository", () => {
    const dir = mkdtempSync(join(tmpdir(), "slmops-walk-"));
    writeFileSync(join(dir, "slmops.yaml"), manifest);
    const inner = join(dir, "inner");
    mkdirSync(join(inner, ".git"), { recursive: true });
    mkdirSync(join(inner, "src"));
    for (const command of ["validate", "optimize", "bench", "gate"]) {
      const r = runCli([command], { cwd: join(inner, "src") });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^error: No slmops\\.yaml in ${join(inner, "src").replace(/[.*+?^${}()|[\]\\]/gu, "\\$&")} or a directory above it\\. `, "u"));
    }
  });
});
