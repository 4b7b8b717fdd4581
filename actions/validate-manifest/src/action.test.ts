import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exampleProject } from "@slmops/manifest/testing";
import { runAction } from "./test-support/run-action.js";
import { actionDir, repoRoot, runnerNode } from "./test-support/paths.js";

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

/** A repository checkout with a manifest in a sub-directory and the model file it names. */
function workspace(manifest: string, dir = "project"): string {
  const root = mkdtempSync(join(tmpdir(), "workspace-"));
  mkdirSync(join(root, dir, "models"), { recursive: true });
  writeFileSync(join(root, dir, "models", "tiny.onnx"), "not really a model, only a file that exists");
  writeFileSync(join(root, dir, "slmops.yaml"), manifest);
  return root;
}

/** The valid manifest with `count` devices, each with one unknown key: `count` problems at known lines. */
function manyProblems(count: number): { text: string; lines: number[] } {
  let text = VALID;
  const lines: number[] = [];
  for (let i = 0; i < count; i++) {
    text += `  - id: board-${i}\n    runs-on: [self-hosted, board-${i}]\n    colour: red\n`;
    lines.push(text.split("\n").length - 1);
  }
  return { text, lines };
}

const errorCommands = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith("::error"));
const hasStack = (text: string) => /^\s+at .+:\d+:\d+\)?$/m.test(text);

describe("validate-manifest action (bundled, real Node runtime)", { timeout: 60_000 }, () => {
  it("passes a valid manifest and sets valid, the normalized manifest and problem-count", () => {
    const ws = workspace(VALID);
    const r = runAction(ws, { manifest: "project/slmops.yaml" });
    expect(r.stderr).toBe("");
    expect(errorCommands(r.stdout)).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.outputs.valid).toBe("true");
    expect(r.outputs["problem-count"]).toBe("0");
    const manifest = JSON.parse(r.outputs.manifest ?? "") as { models: { id: string }[]; devices: { id: string }[] };
    expect(manifest.models.map((m) => m.id)).toEqual(["tiny"]);
    expect(manifest.devices.map((d) => d.id)).toEqual(["rpi5"]);
    expect(r.outputFile).toMatch(/^valid<<ghadelimiter_[0-9a-f-]+\ntrue\nghadelimiter_[0-9a-f-]+\n/);
    expect(r.summary).toContain("slmops manifest: valid");
    expect(r.summary).toContain("project/slmops.yaml is valid.");
    expect(r.summary).toContain("<details><summary>Normalized manifest</summary>");
  });

  it("annotates each problem on its workspace-relative file and line, summarizes, and fails", () => {
    const { text, lines } = manyProblems(3);
    const ws = workspace(text);
    const r = runAction(ws, { manifest: "project/slmops.yaml" });
    expect(r.status).toBe(1);
    const errors = errorCommands(r.stdout);
    expect(errors).toHaveLength(4);
    for (const [i, line] of lines.entries()) {
      expect(errors[i]).toMatch(new RegExp(`^::error title=[^,]+,file=project/slmops\\.yaml,line=${line},endLine=${line},col=5,endColumn=\\d+::.*colour`));
    }
    expect(errors[3]).toMatch(/^::error::project\/slmops\.yaml is invalid: 3 problems\. Each problem is annotated/);
    expect(r.outputs.valid).toBe("false");
    expect(r.outputs.manifest).toBe("");
    expect(r.outputs["problem-count"]).toBe("3");
    for (const line of lines) expect(r.summary).toContain(`<code>project/slmops.yaml:${line}:5</code>`);
    expect(hasStack(r.stdout + r.stderr)).toBe(false);
  });

  it("keeps within GitHub's annotation limit and still lists every problem in the log and summary", () => {
    const { text, lines } = manyProblems(15);
    const ws = workspace(text);
    const r = runAction(ws, { manifest: "project/slmops.yaml" });
    expect(r.status).toBe(1);
    const errors = errorCommands(r.stdout);
    // 9 problems + the step's own failure = GitHub's 10 error annotations per step.
    expect(errors).toHaveLength(10);
    expect(errors.slice(0, 9).map((e) => Number(/line=(\d+)/.exec(e)?.[1]))).toEqual(lines.slice(0, 9));
    expect(errors[9]).toMatch(/^::error::project\/slmops\.yaml is invalid: 15 problems\./);
    expect(r.stdout).toContain("6 more problems were not annotated");
    for (const line of lines.slice(9)) expect(r.stdout).toMatch(new RegExp(`^project/slmops\\.yaml:${line}:5: error: `, "m"));
    for (const line of lines) expect(r.summary).toContain(`<code>project/slmops.yaml:${line}:5</code>`);
    expect(r.outputs["problem-count"]).toBe("15");
  });

  it("with fail-on-invalid false, reports through outputs and passes", () => {
    const { text } = manyProblems(2);
    const r = runAction(workspace(text), { manifest: "project/slmops.yaml", "fail-on-invalid": "false" });
    expect(r.status).toBe(0);
    expect(errorCommands(r.stdout)).toHaveLength(2);
    expect(r.outputs.valid).toBe("false");
    expect(r.outputs["problem-count"]).toBe("2");
  });

  it("fails with one clear message for a missing manifest, a path outside the workspace, or a bad input", () => {
    const ws = workspace(VALID);
    const missing = runAction(ws, { manifest: "slmops.yaml" });
    expect(missing.status).toBe(1);
    expect(missing.stdout).toBe(
      "::error::Manifest `slmops.yaml` not found in the workspace. Check out the repository first (actions/checkout) or set the `manifest` input to its path.\n",
    );
    const outside = runAction(ws, { manifest: "../etc/slmops.yaml" });
    expect(outside.status).toBe(1);
    expect(outside.stdout).toMatch(/^::error::Input `manifest` \(`\.\.\/etc\/slmops\.yaml`\) points outside the workspace/);
    const bad = runAction(ws, { manifest: "project/slmops.yaml", "fail-on-invalid": "yes" });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe("::error::Input `fail-on-invalid` must be `true` or `false`; got `yes`.\n");
    for (const r of [missing, outside, bad]) {
      expect(hasStack(r.stdout + r.stderr)).toBe(false);
      expect(r.outputFile).toBe("");
    }
  });

  it("accepts the repository's example manifest", async () => {
    const dir = await exampleProject(join(repoRoot, "examples", "story-lm", "slmops.yaml"));
    const r = runAction(dir, { manifest: "slmops.yaml" });
    expect(errorCommands(r.stdout)).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.outputs.valid).toBe("true");
  });

  it("runs on its own, copied away from the repository and its node_modules, as a release tag ships it", () => {
    const shipped = mkdtempSync(join(tmpdir(), "shipped-action-"));
    cpSync(join(actionDir, "dist"), join(shipped, "dist"), { recursive: true });
    const { text, lines } = manyProblems(1);
    const r = runAction(workspace(text), { manifest: "project/slmops.yaml" }, join(shipped, "dist", "index.js"));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(1);
    expect(errorCommands(r.stdout)[0]).toMatch(new RegExp(`^::error title=[^,]+,file=project/slmops\\.yaml,line=${lines[0]},`));
    expect(r.outputs.valid).toBe("false");
  });

  it("runs under the Node 24 GitHub uses for node24 actions", () => {
    const node = runnerNode();
    const version = spawnSync(node.path, ["--version"], { encoding: "utf8" }).stdout.trim();
    if (node.note === undefined) expect(version).toMatch(/^v24\./);
    const r = runAction(workspace(VALID), { manifest: "project/slmops.yaml" });
    expect(r.node).toBe(node.path);
    expect(r.status).toBe(0);
  });
});
