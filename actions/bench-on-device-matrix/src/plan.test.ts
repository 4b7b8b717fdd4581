import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GitRepo } from "./test-support/git-repo.js";
import { pullRequestPayload } from "./test-support/payloads.js";
import { runAction } from "./test-support/run-action.js";

const MANIFEST = `version: 1
models:
  - id: story-lm
    source: models/story-lm/model.onnx
    kind: decoder
    eval: { dataset: data/eval.jsonl, tokenizer: models/story-lm/tokenizer.json }
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
    threads: 4
  - id: nuc
    runs-on: [self-hosted, linux, x64, nuc]
  - id: sandbox
    runs-on: [self-hosted, linux, x64, sandbox]
    allow-from-forks: true
`;

const BASE_FILES = {
  "project/slmops.yaml": MANIFEST,
  "project/models/story-lm/model.onnx": "fp32 v1",
  "project/models/story-lm/tokenizer.json": "{}",
  "project/models/classifier/model.onnx": "classifier v1",
  "project/data/eval.jsonl": '{"text": "once"}\n',
  "README.md": "readme",
};

interface Matrix {
  include: { device: string; "runs-on": string[]; models: string[]; variants: string[] }[];
}

/** A repository with a base commit and a head commit that changes the story-lm source; the workspace is at head. */
function pullRequestRepo(headFiles: Record<string, string> = { "project/models/story-lm/model.onnx": "fp32 v2", "README.md": "readme 2" }) {
  const repo = new GitRepo();
  const base = repo.commit(BASE_FILES, "base");
  const head = repo.commit(headFiles, "head");
  return { repo, base, head };
}

function eventFile(payload: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), "event-")), "event.json");
  writeFileSync(path, JSON.stringify(payload));
  return path;
}

const warnings = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith("::warning"));
const hasStack = (text: string) => /^\s+at .+:\d+:\d+\)?$/m.test(text);

describe("bench-on-device-matrix plan (bundled, real event payloads, real git)", { timeout: 120_000 }, () => {
  it("plans the devices a pull request touches: the changed model's variants on every device", () => {
    const { repo, base, head } = pullRequestRepo();
    const r = runAction(repo.dir, { mode: "plan", manifest: "project/slmops.yaml" }, { GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: eventFile(pullRequestPayload(base, head)) });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const matrix = JSON.parse(r.outputs.matrix ?? "") as Matrix;
    expect(matrix.include.map((e) => e.device)).toEqual(["hosted", "rpi5", "nuc", "sandbox"]);
    for (const entry of matrix.include) {
      expect(entry.models).toEqual(["story-lm"]);
      expect(entry.variants).toEqual(["story-lm/int4", "story-lm/int8"]);
    }
    expect(matrix.include[1]?.["runs-on"]).toEqual(["self-hosted", "linux", "arm64", "rpi5"]);
    expect(r.outputs["device-count"]).toBe("4");
    expect(JSON.parse(r.outputs.refused ?? "")).toEqual([]);
    expect(r.summary).toContain("slmops device plan");
    expect(r.summary).toContain("pull request #2 into `master`: 4 devices to benchmark.");
    expect(r.summary).toContain("project/models/story-lm/model.onnx changed (model `story-lm`)");
  });

  it("refuses self-hosted devices for a pull request from a fork, with a warning and the reason for each", () => {
    const { repo, base, head } = pullRequestRepo();
    const payload = pullRequestPayload(base, head, { fork: true });
    const r = runAction(repo.dir, { mode: "plan", manifest: "project/slmops.yaml" }, { GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: eventFile(payload) });
    expect(r.status).toBe(0);
    const matrix = JSON.parse(r.outputs.matrix ?? "") as Matrix;
    expect(matrix.include.map((e) => e.device)).toEqual(["hosted", "sandbox"]);
    expect(r.outputs["device-count"]).toBe("2");
    const refused = JSON.parse(r.outputs.refused ?? "") as { device: string; reason: string; variants: string[] }[];
    expect(refused.map((d) => d.device)).toEqual(["rpi5", "nuc"]);
    expect(refused[0]?.variants).toEqual(["story-lm/int4", "story-lm/int8"]);
    expect(refused[0]?.reason).toMatch(/refused for a pull request from a fork/);
    const warned = warnings(r.stdout);
    expect(warned).toHaveLength(2);
    expect(warned[0]).toMatch(/^::warning title=device refused::device `rpi5` not benchmarked: self-hosted runner/);
    expect(r.summary).toContain("from the fork `forker/Hello-World`");
    expect(r.summary).toContain("<h3>Refused</h3>");
  });

  it("a fork that grants itself allow-from-forks is still refused (the base branch's manifest decides)", () => {
    const granted = MANIFEST.replace("    threads: 4\n", "    threads: 4\n    allow-from-forks: true\n");
    const { repo, base, head } = pullRequestRepo({ "project/slmops.yaml": granted, "project/models/classifier/model.onnx": "classifier v2" });
    const r = runAction(repo.dir, { mode: "plan", manifest: "project/slmops.yaml" }, { GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: eventFile(pullRequestPayload(base, head, { fork: true })) });
    expect(r.status).toBe(0);
    expect((JSON.parse(r.outputs.matrix ?? "") as Matrix).include.map((e) => [e.device, e.variants])).toEqual([
      ["hosted", ["classifier/int8"]],
      ["sandbox", ["classifier/int8"]],
    ]);
    expect((JSON.parse(r.outputs.refused ?? "") as { device: string }[]).map((d) => d.device)).toEqual(["rpi5", "nuc"]);
  });

  it("plans nothing for a change that touches no model, variant or device", () => {
    const { repo, base, head } = pullRequestRepo({ "README.md": "docs only" });
    const r = runAction(repo.dir, { mode: "plan", manifest: "project/slmops.yaml" }, { GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: eventFile(pullRequestPayload(base, head)) });
    expect(r.status).toBe(0);
    expect(r.outputs.matrix).toBe('{"include":[]}');
    expect(r.outputs["device-count"]).toBe("0");
    expect(r.summary).toContain("0 devices to benchmark, 4 not touched by this change");
  });

  it("plans every device on request, and for events without a change (workflow_dispatch)", () => {
    const { repo, base, head } = pullRequestRepo({ "README.md": "docs only" });
    const all = runAction(repo.dir, { mode: "plan", manifest: "project/slmops.yaml", "all-devices": "true" }, { GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: eventFile(pullRequestPayload(base, head)) });
    expect(all.outputs["device-count"]).toBe("4");
    expect((JSON.parse(all.outputs.matrix ?? "") as Matrix).include[0]?.variants).toEqual(["story-lm/int4", "story-lm/int8", "classifier/int8"]);
    const dispatch = runAction(repo.dir, { mode: "plan", manifest: "project/slmops.yaml" }, { GITHUB_EVENT_NAME: "workflow_dispatch", GITHUB_EVENT_PATH: eventFile({ inputs: {} }) });
    expect(dispatch.status).toBe(0);
    expect(dispatch.outputs["device-count"]).toBe("4");
  });

  it("fetches the base from origin in a shallow checkout", () => {
    const { repo, base, head } = pullRequestRepo();
    repo.git("config", "uploadpack.allowAnySHA1InWant", "true");
    const clone = mkdtempSync(join(tmpdir(), "shallow-"));
    execFileSync("git", ["clone", "--quiet", "--depth=1", `file://${repo.dir}`, clone]);
    expect(() => execFileSync("git", ["cat-file", "-e", `${base}^{commit}`], { cwd: clone, stdio: "ignore" })).toThrow();
    const r = runAction(clone, { mode: "plan", manifest: "project/slmops.yaml" }, { GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: eventFile(pullRequestPayload(base, head)) });
    expect(r.status).toBe(0);
    expect((JSON.parse(r.outputs.matrix ?? "") as Matrix).include[0]?.variants).toEqual(["story-lm/int4", "story-lm/int8"]);
  });

  it("fails clearly, without a stack trace, on a payload whose commit id is not one", () => {
    const { repo, base } = pullRequestRepo();
    const r = runAction(repo.dir, { mode: "plan", manifest: "project/slmops.yaml" }, { GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: eventFile(pullRequestPayload(base, "--upload-pack=touch /tmp/x")) });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("pull_request.head.sha is not a commit id");
    expect(hasStack(r.stdout + r.stderr)).toBe(false);
  });

  it("rejects an unknown mode", () => {
    const { repo } = pullRequestRepo();
    const r = runAction(repo.dir, { mode: "bench" });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^::error::Input `mode` must be `plan` or `run`; got `bench`\./m);
  });
});
