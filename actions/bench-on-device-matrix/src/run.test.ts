import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { readReport } from "@slmops/bench";
import { optimizeModel } from "@slmops/optimize";
import { SHIPPED_LOCK } from "@slmops/runtime-installer";
import { beforeAll, describe, expect, it } from "vitest";
import { bundlePath, runAction } from "./test-support/run-action.js";
import { actionDir, repoRoot } from "./test-support/paths.js";

const example = join(repoRoot, "examples", "story-lm");

/** This repository's installed onnxruntime-node: a preinstalled package, as an offline device has one. */
const installedRuntime = dirname(createRequire(join(repoRoot, "packages", "runtime", "package.json")).resolve("onnxruntime-node/package.json"));

const MANIFEST = `version: 1
models:
  - id: story-lm
    source: models/story-lm/model.onnx
    kind: decoder
    eval: { dataset: data/eval.jsonl, tokenizer: models/story-lm/tokenizer.json }
    variants:
      - id: int8
        passes: [ { quantize: { weights: int8 } } ]
      - id: int4
        passes: [ { quantize: { weights: int4 } } ]
devices:
  - id: ci
    runs-on: [ubuntu-24.04]
    execution-providers: [cpu]
    threads: 1
    memory-budget: 2GiB
bench: { warmup: 1, min-iterations: 3, min-duration: 200ms, prompt-tokens: 8, generate-tokens: 4, timeout: 5m }
`;

let workspace: string;

/** A checkout of a project with the example's model, and its int8 variant built where optimize-model puts it. */
beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "bench-run-"));
  const project = join(workspace, "project");
  for (const file of ["models/story-lm/model.onnx", "models/story-lm/tokenizer.json", "data/eval.jsonl"]) {
    mkdirSync(dirname(join(project, file)), { recursive: true });
    copyFileSync(join(example, file), join(project, file));
  }
  writeFileSync(join(project, "slmops.yaml"), MANIFEST);
  await optimizeModel({ source: join(project, "models/story-lm/model.onnx"), passes: [{ quantize: { weights: "int8" } }], outDir: join(project, ".slmops/variants/story-lm/int8") });
}, 300_000);

const hasStack = (text: string) => /^\s+at .+:\d+:\d+\)?$/m.test(text);

describe("bench-on-device-matrix run (bundled, under the runner's Node, real ONNX Runtime)", { timeout: 300_000 }, () => {
  it("keeps onnxruntime-node out of the action's bundle and pins the version the runtime package uses", () => {
    const bundle = readFileSync(bundlePath, "utf8");
    expect(bundle).not.toMatch(/from\s*["']onnxruntime-node["']/);
    expect(readFileSync(join(actionDir, "dist", "runner.js"), "utf8")).toMatch(/import \* as \w+ from "onnxruntime-node"/);
    const lock = JSON.parse(SHIPPED_LOCK.packageLock) as { packages: Record<string, { version: string; integrity?: string }> };
    const runtime = JSON.parse(readFileSync(join(repoRoot, "packages", "runtime", "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(lock.packages["node_modules/onnxruntime-node"]?.version).toBe(runtime.dependencies["onnxruntime-node"]);
    for (const [path, entry] of Object.entries(lock.packages)) if (path !== "") expect(entry.integrity, path).toMatch(/^sha512-/);
  });

  it("benchmarks this runner as the named device with a preinstalled onnxruntime-node and writes a valid report", async () => {
    const references = mkdtempSync(join(tmpdir(), "references-"));
    const r = runAction(workspace, {
      mode: "run",
      manifest: "project/slmops.yaml",
      device: "ci",
      variants: '["story-lm/int8"]',
      "onnxruntime-path": installedRuntime,
      "reference-dir": references,
    });
    if (r.status !== 0) console.error(r.stdout, r.stderr);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.outputs.report).toBe("bench-reports/ci.json");
    expect(r.outputs["failed-count"]).toBe("0");
    expect(r.stdout).toMatch(/onnxruntime-node 1\.\d+\.\d+ \(preinstalled\)/);
    expect(r.stdout).toMatch(/\[2\/2\] story-lm\/int8: measure/);
    const report = await readReport(join(workspace, "bench-reports", "ci.json"));
    expect(report.device.id).toBe("ci");
    expect(report.device.session["intra-op-threads"]).toBe(1);
    expect(report.device["memory-budget-bytes"]).toBe(2 * 1024 ** 3);
    expect(report.device.fingerprint["runner-labels"]).toEqual(["ubuntu-24.04"]);
    expect(report.settings).toMatchObject({ warmup: 1, "min-iterations": 3, "min-duration-ms": 200, "prompt-tokens": 8, "generate-tokens": 4 });
    // The fp32 source's row first (the yardstick), then the variant.
    expect(report.results.map((x) => x.variant)).toEqual(["fp32 source", "int8"]);
    const result = report.results[1];
    expect(result).toMatchObject({ model: "story-lm", variant: "int8", status: "ok", kind: "decoder" });
    expect(result?.run?.iterations).toBeGreaterThanOrEqual(3);
    expect(result?.metrics["kl-divergence"]).toBeGreaterThanOrEqual(0);
    expect(report.models[0]?.reference?.status).toBe("computed");
    expect(r.summary).toContain("slmops bench: ci");
    expect(r.summary).toContain("<td>story-lm/int8</td><td>ok</td>");
    expect(r.summary).toContain("ONNX Runtime 1.");
    // The staged runner directory is cleaned up; the installed package is untouched.
    expect(existsSync(join(installedRuntime, "package.json"))).toBe(true);
  });

  it("reports a variant whose benchmark fails, and still succeeds so the report is uploaded", async () => {
    const broken = join(workspace, "broken", "story-lm", "int8");
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, "model.onnx"), "this is not an ONNX model");
    const r = runAction(workspace, {
      mode: "run",
      manifest: "project/slmops.yaml",
      device: "ci",
      variants: "story-lm/int8",
      "variants-dir": "broken",
      "report-path": "reports/broken.json",
      "onnxruntime-path": installedRuntime,
    });
    expect(r.status, r.stdout).toBe(0);
    expect(r.outputs["failed-count"]).toBe("1");
    expect(r.stdout).toMatch(/^::warning::story-lm\/int8 failed on `ci` \((error|configuration)\): /m);
    const report = await readReport(join(workspace, "reports", "broken.json"));
    expect(report.results.find((x) => x.variant === "int8")).toMatchObject({ status: "failed" });
    expect(r.summary).toMatch(/<td>story-lm\/int8<\/td><td>failed \((error|configuration)\)<\/td>/);
  });

  it("refuses a report path that goes through a link in the checked-out tree, writing nothing through it", () => {
    const elsewhere = mkdtempSync(join(tmpdir(), "bench-run-elsewhere-"));
    symlinkSync(elsewhere, join(workspace, "linked-reports"));
    const r = runAction(workspace, {
      mode: "run",
      manifest: "project/slmops.yaml",
      device: "ci",
      variants: "story-lm/int8",
      "report-path": "linked-reports/ci.json",
      "onnxruntime-path": installedRuntime,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^::error::linked-reports is a symbolic link; slmops does not write through links/m);
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(hasStack(r.stdout + r.stderr)).toBe(false);
  });

  it("says to download the variants (or run slmops optimize) when one is not built", () => {
    const r = runAction(workspace, { mode: "run", manifest: "project/slmops.yaml", device: "ci", "onnxruntime-path": installedRuntime });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^::error::a variant is not built: story-lm\/int4 \(project\/\.slmops\/variants\/story-lm\/int4\/model\.onnx\)\. Download the optimize-model artifact into `project\/\.slmops\/variants`.*slmops optimize/m);
    expect(hasStack(r.stdout + r.stderr)).toBe(false);
  });

  it("names the devices when the device is unknown, and refuses a preinstalled path that is not onnxruntime-node", () => {
    const unknown = runAction(workspace, { mode: "run", manifest: "project/slmops.yaml", device: "rpi5", "onnxruntime-path": installedRuntime });
    expect(unknown.status).toBe(1);
    expect(unknown.stdout).toMatch(/^::error::no device `rpi5` in the manifest; its devices are `ci`/m);
    const wrong = runAction(workspace, { mode: "run", manifest: "project/slmops.yaml", device: "ci", variants: "story-lm/int8", "onnxruntime-path": join(workspace, "project") });
    expect(wrong.status).toBe(1);
    expect(wrong.stdout).toMatch(/^::error::Input `onnxruntime-path` \(`.+`\) is not an onnxruntime-node package/m);
    expect(hasStack(wrong.stdout + wrong.stderr)).toBe(false);
  });
});
