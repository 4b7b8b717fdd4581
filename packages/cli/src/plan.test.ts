import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasStackTrace, repoRoot, runCli } from "./test-support/run-cli.js";

const MANIFEST = `version: 1
models:
  - id: story-lm
    source: models/story-lm/model.onnx
    kind: decoder
    variants:
      - id: int4
        passes: [ { quantize: { weights: int4 } } ]
      - id: int8
        passes: [ { quantize: { weights: int8 } } ]
  - id: classifier
    source: models/classifier/model.onnx
    variants:
      - id: int8
        passes: [ { quantize: { weights: int8 } } ]
devices:
  - id: hosted
    runs-on: [ubuntu-24.04]
  - id: rpi5
    runs-on: [self-hosted, linux, arm64, rpi5]
`;

/** A real git repository: the project under project/, one base commit. */
class Repo {
  readonly dir = mkdtempSync(join(tmpdir(), "slmops-plan-"));
  constructor() {
    this.git("init", "--quiet", "--initial-branch=main");
    this.git("config", "user.email", "test@example.com");
    this.git("config", "user.name", "test");
    this.git("config", "commit.gpgsign", "false");
  }
  git(...args: string[]): string {
    return execFileSync("git", args, { cwd: this.dir, encoding: "utf8" }).trim();
  }
  write(files: Record<string, string>): void {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.dir, path)), { recursive: true });
      writeFileSync(join(this.dir, path), text);
    }
  }
  commit(files: Record<string, string>, message: string): string {
    this.write(files);
    this.git("add", "-A");
    this.git("commit", "--quiet", "-m", message);
    return this.git("rev-parse", "HEAD");
  }
}

function baseRepo(): { repo: Repo; base: string } {
  const repo = new Repo();
  const base = repo.commit(
    { "project/slmops.yaml": MANIFEST, "project/models/story-lm/model.onnx": "v1", "project/models/classifier/model.onnx": "c1", "README.md": "r" },
    "base",
  );
  return { repo, base };
}

interface PlanOut {
  base: string | null;
  head: string | null;
  matrix: { include: { device: string; variants: string[] }[] };
  refused: unknown[];
  untouched: string[];
}

/** The bench-on-device-matrix action's plan mode, bundled, run as the runner runs it on a push event. */
function actionPlan(workspace: string, before: string, after: string): { matrix: string; refused: string } {
  const bundle = join(repoRoot, "actions", "bench-on-device-matrix", "dist", "index.js");
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing; build the action first`);
  const files = mkdtempSync(join(tmpdir(), "runner-files-"));
  const event = join(files, "event.json");
  writeFileSync(event, JSON.stringify({ ref: "refs/heads/main", before, after }));
  const output = join(files, "output");
  writeFileSync(output, "");
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(INPUT_|GITHUB_|RUNNER_)/.test(k)) env[k] = v;
  Object.assign(env, {
    GITHUB_ACTIONS: "true", GITHUB_WORKSPACE: workspace, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: join(files, "summary"), RUNNER_TEMP: files,
    GITHUB_EVENT_NAME: "push", GITHUB_EVENT_PATH: event, INPUT_MODE: "plan", INPUT_MANIFEST: "project/slmops.yaml",
  });
  writeFileSync(join(files, "summary"), "");
  const r = spawnSync(process.execPath, [bundle], { cwd: workspace, env, encoding: "utf8", timeout: 60_000 });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  const outputs: Record<string, string> = {};
  const text = readFileSync(output, "utf8");
  for (const m of text.matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) outputs[m[1] as string] = m[3] as string;
  return { matrix: outputs.matrix ?? "", refused: outputs.refused ?? "" };
}

describe("slmops plan (real git, the action's plan function)", { timeout: 120_000 }, () => {
  it("plans the same matrix as the action's plan mode for the same two commits", () => {
    const { repo, base } = baseRepo();
    const head = repo.commit({ "project/models/story-lm/model.onnx": "v2", "project/slmops.yaml": MANIFEST.replace("  - id: rpi5\n", "  - id: rpi5\n    threads: 4\n") }, "head");
    const cli = runCli(["plan", "--manifest", "project/slmops.yaml", "--base", base, "--head", head, "--json"], { cwd: repo.dir });
    expect(cli.stderr).toBe("");
    expect(cli.status).toBe(0);
    const plan = JSON.parse(cli.stdout) as PlanOut;
    expect(plan.matrix.include.map((e) => [e.device, e.variants])).toEqual([
      ["hosted", ["story-lm/int4", "story-lm/int8"]],
      ["rpi5", ["story-lm/int4", "story-lm/int8", "classifier/int8"]],
    ]);
    const action = actionPlan(repo.dir, base, head);
    expect(JSON.stringify(plan.matrix)).toBe(action.matrix);
    expect(JSON.stringify(plan.refused)).toBe(action.refused);
  });

  it("by default compares the working tree (uncommitted changes) with HEAD on the default branch, and says why each device runs", () => {
    const { repo } = baseRepo();
    repo.write({ "project/models/classifier/model.onnx": "c2" });
    const r = runCli(["plan"], { cwd: join(repo.dir, "project") });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^HEAD \([0-9a-f]{7}\) → the working tree: 2 devices to benchmark\n/);
    expect(r.stdout).toContain("hosted  runs-on [ubuntu-24.04]: classifier/int8");
    expect(r.stdout).toContain("because project/models/classifier/model.onnx changed (model `classifier`)");
  });

  it("on a branch, compares with where it left main; an unknown ref is one clear error", () => {
    const { repo, base } = baseRepo();
    repo.git("switch", "--quiet", "-c", "topic");
    repo.commit({ "README.md": "docs only" }, "docs");
    const r = runCli(["plan", "--manifest", "project", "--json"], { cwd: repo.dir });
    expect(r.status).toBe(0);
    const plan = JSON.parse(r.stdout) as PlanOut;
    expect(plan.base).toBe(base);
    expect(plan.matrix.include).toEqual([]);
    expect(plan.untouched).toEqual(["hosted", "rpi5"]);

    const bad = runCli(["plan", "--manifest", "project", "--base", "no-such-branch"], { cwd: repo.dir });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("--base no-such-branch: no such commit in this repository");
    expect(hasStackTrace(bad.stderr)).toBe(false);
  });
});
