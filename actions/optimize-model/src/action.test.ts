import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadManifestOrThrow } from "@slmops/manifest";
import { createSession } from "@slmops/runtime";
import { cacheLayout, pinnedVersion, recordIntegrity } from "@slmops/runtime-installer";
import { variantDigest } from "@slmops/variant-identity";
import { describe, expect, it } from "vitest";
import type { VariantOutput } from "./main.js";
import { actionDir, repoRoot, runnerNode } from "./test-support/paths.js";
import { runAction } from "./test-support/run-action.js";

const EXAMPLE = join(repoRoot, "examples", "story-lm");
/** The onnxruntime-node the workspace installed (its real directory), standing in for a preinstalled one on a runner. */
const installedRuntime = realpathSync(join(repoRoot, "packages", "runtime", "node_modules", "onnxruntime-node"));
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
/** The identity digest of a variant that is one `model.onnx` file. */
const digestOf = (path: string) => variantDigest([{ name: "model.onnx", bytes: statSync(path).size, sha256: sha256(path) }]);
const errorCommands = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith("::error"));
const hasStack = (text: string) => /^\s+at .+:\d+:\d+\)?$/m.test(text);

/** A checked-out repository with the example project in `project/`. */
function workspace(): string {
  const root = mkdtempSync(join(tmpdir(), "optimize-workspace-"));
  cpSync(EXAMPLE, join(root, "project"), { recursive: true, filter: (src) => !src.includes(".slmops") });
  return root;
}

async function exampleVariantIds(): Promise<string[]> {
  const { manifest } = await loadManifestOrThrow(join(EXAMPLE, "slmops.yaml"));
  return manifest.models.flatMap((m) => m.variants.map((v) => `${m.id}/${v.id}`));
}

function variantsOf(outputs: Record<string, string>): VariantOutput[] {
  return JSON.parse(outputs.variants ?? "") as VariantOutput[];
}

describe("optimize-model action (bundled, real Node 24 runtime, real ONNX Runtime)", { timeout: 240_000 }, () => {
  it("builds every variant of the example; outputs list each with its workspace path, sha256 and bytes; summary table", async () => {
    const ws = workspace();
    const r = runAction(ws, { manifest: "project/slmops.yaml", "onnxruntime-path": installedRuntime });
    expect(r.stderr).toBe("");
    expect(errorCommands(r.stdout)).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`ONNX Runtime: onnxruntime-node 1.30.0 (preinstalled) from ${installedRuntime}`);
    const variants = variantsOf(r.outputs);
    expect(variants.map((v) => `${v.model}/${v.variant}`)).toEqual(await exampleVariantIds());
    expect(r.outputs["variant-count"]).toBe(String(variants.length));
    expect(r.outputs["output-dir"]).toBe("project/.slmops/variants");
    for (const v of variants) {
      expect(Object.keys(v).sort()).toEqual(["bytes", "digest", "model", "path", "variant"]);
      expect(v.path).toBe(`project/.slmops/variants/${v.model}/${v.variant}/model.onnx`);
      const path = join(ws, v.path);
      expect(digestOf(path), v.variant).toBe(v.digest);
      expect(statSync(path).size, v.variant).toBe(v.bytes);
      expect(r.summary).toMatch(new RegExp(`<tr><td>${v.model}</td><td>${v.variant}</td><td>[^<]+</td><td>[\\d.]+KiB</td><td>0\\.\\d{3}×</td><td><code>${v.digest.slice(0, 12)}</code></td>`));
      const session = await createSession(path);
      expect(session.outputNames[0]).toBe("logits");
      await session.release();
    }
    expect(r.summary).toContain(`<h2>slmops variants: ${variants.length} built</h2>`);
    // The graph-optimize pass ran through the onnxruntime-node the action located.
    expect(r.summary).toMatch(/<td>int4<\/td><td>quantize\(int4, [^<]*\) → graph-optimize\(extended\)<\/td>/);
  });

  it("builds only the filtered variant into output-dir", () => {
    const ws = workspace();
    const r = runAction(ws, { manifest: "project/slmops.yaml", model: "story-lm", variant: "int8", "output-dir": "build/variants", "onnxruntime-path": installedRuntime });
    expect(r.status).toBe(0);
    const variants = variantsOf(r.outputs);
    expect(variants).toEqual([
      { model: "story-lm", variant: "int8", path: "build/variants/story-lm/int8/model.onnx", digest: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: expect.any(Number) },
    ]);
    expect(digestOf(join(ws, variants[0]?.path ?? ""))).toBe(variants[0]?.digest);
    // The published name, a link to the one build behind it (hidden, so upload-artifact leaves it out).
    expect(readdirSync(join(ws, "build", "variants", "story-lm")).filter((n) => !n.startsWith("."))).toEqual(["int8"]);
    expect(readdirSync(join(ws, "build", "variants", "story-lm")).filter((n) => n.startsWith(".int8.build-"))).toHaveLength(1);
    expect(existsSync(join(ws, "project", ".slmops"))).toBe(false);
  });

  it("fails with one clear message for an unknown variant, a bad onnxruntime-path, no tool cache, or an output-dir outside the workspace", () => {
    const ws = workspace();
    const base = { manifest: "project/slmops.yaml", "onnxruntime-path": installedRuntime };
    const unknown = runAction(ws, { ...base, variant: "in8" });
    expect(unknown.stdout).toMatch(/^::error::Input `variant`: no variant `in8` in model `story-lm`; its variants are `int4`, `int4-rtn`, `int8`, `fp16`, `pruned-int8`\.$/m);
    const notOrt = runAction(ws, { ...base, "onnxruntime-path": join(ws, "project") });
    expect(notOrt.stdout).toMatch(/^::error::Input `onnxruntime-path` \(`[^`]+`\) is not an onnxruntime-node package: no readable package\.json/m);
    const noCache = runAction(ws, { manifest: "project/slmops.yaml" }, { env: { RUNNER_TOOL_CACHE: "" } });
    expect(noCache.stdout).toMatch(/^::error::RUNNER_TOOL_CACHE is not set, so onnxruntime-node cannot be installed; set the `onnxruntime-path` input/m);
    const outside = runAction(ws, { ...base, "output-dir": "../elsewhere" });
    expect(outside.stdout).toMatch(/^::error::Input `output-dir` \(`\.\.\/elsewhere`\) points outside the workspace/m);
    for (const r of [unknown, notOrt, noCache, outside]) {
      expect(r.status).toBe(1);
      expect(errorCommands(r.stdout)).toHaveLength(1);
      expect(hasStack(r.stdout + r.stderr)).toBe(false);
      expect(r.outputFile).toBe("");
    }
    expect(existsSync(join(ws, "project", ".slmops"))).toBe(false);
  });

  it("annotates an invalid manifest on its lines and builds nothing", () => {
    const ws = workspace();
    const file = join(ws, "project", "slmops.yaml");
    const lines = readFileSync(file, "utf8").split("\n");
    const at = lines.findIndex((l) => l.includes("block-size: 32")) + 1;
    writeFileSync(file, lines.map((l, i) => (i + 1 === at ? l.replace("32", "33") : l)).join("\n"));
    const r = runAction(ws, { manifest: "project/slmops.yaml", "onnxruntime-path": installedRuntime });
    expect(r.status).toBe(1);
    const errors = errorCommands(r.stdout);
    expect(errors[0]).toMatch(new RegExp(`^::error title=[^,]+,file=project/slmops\\.yaml,line=${at},`));
    expect(errors.at(-1)).toMatch(/^::error::project\/slmops\.yaml is invalid: 1 problem, each annotated on its line\./);
    expect(existsSync(join(ws, "project", ".slmops"))).toBe(false);
  });

  it("builds the other variants when one fails, leaves nothing of the failed one, lists it in the summary, and fails the step", async () => {
    const ws = workspace();
    const manifest = join(ws, "project", "slmops.yaml");
    writeFileSync(
      manifest,
      readFileSync(manifest, "utf8").replace(
        "\ndevices:\n",
        "\n  - id: broken-lm\n    source: models/broken-lm/model.onnx\n    variants:\n      - id: q8\n        passes: [ { quantize: { weights: int8 } } ]\n\ndevices:\n",
      ),
    );
    mkdirSync(join(ws, "project", "models", "broken-lm"));
    writeFileSync(join(ws, "project", "models", "broken-lm", "model.onnx"), readFileSync(join(EXAMPLE, "models", "story-lm", "model.onnx")).subarray(0, 5000));
    const r2 = runAction(ws, { manifest: "project/slmops.yaml", "onnxruntime-path": installedRuntime });
    expect(r2.status).toBe(1);
    expect(variantsOf(r2.outputs).map((v) => `${v.model}/${v.variant}`)).toEqual((await exampleVariantIds()).filter((id) => id.startsWith("story-lm/")));
    const errors = errorCommands(r2.stdout);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^::error::broken-lm\/q8 failed: /);
    expect(errors[1]).toBe("::error::1 of 6 variants failed; 5 built into project/.slmops/variants. Failed: broken-lm/q8 (reasons in the log above).");
    expect(r2.summary).toMatch(/<tr><td>broken-lm<\/td><td>q8<\/td><td>failed: [^<]+<\/td>/);
    expect(r2.outputs["variant-count"]).toBe("5");
    expect(hasStack(r2.stdout + r2.stderr)).toBe(false);
    expect(readdirSync(join(ws, "project", ".slmops", "variants", "broken-lm"))).toEqual([]);
  });

  it("uses onnxruntime-node from the runner's tool cache when it is complete there and every file is as recorded", async () => {
    const toolCache = mkdtempSync(join(tmpdir(), "tool-cache-"));
    const layout = cacheLayout(toolCache, "1.30.0");
    // The workspace's package and its one runtime dependency, laid out as npm ci installs them.
    cpSync(installedRuntime, layout.packageDir, { recursive: true, dereference: true });
    cpSync(realpathSync(join(installedRuntime, "..", "onnxruntime-common")), join(layout.dir, "node_modules", "onnxruntime-common"), { recursive: true, dereference: true });
    await recordIntegrity(layout.dir, "1.30.0", "cpu");
    // Without the marker the cache is an interrupted install and would be installed again; with it, it is used.
    writeFileSync(layout.marker, "");
    const ws = workspace();
    const r = runAction(ws, { manifest: "project/slmops.yaml", variant: "int4" }, { env: { RUNNER_TOOL_CACHE: toolCache } });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`ONNX Runtime: onnxruntime-node 1.30.0 (tool-cache) from ${layout.packageDir}`);
    expect(variantsOf(r.outputs).map((v) => v.variant)).toEqual(["int4"]);
  });

  it.runIf(process.env.SLMOPS_TEST_NPM_INSTALL === "1")(
    "installs the pinned onnxruntime-node into an empty tool cache with npm ci, then reuses it (needs the npm registry)",
    () => {
      const toolCache = mkdtempSync(join(tmpdir(), "tool-cache-"));
      const ws = workspace();
      const first = runAction(ws, { manifest: "project/slmops.yaml", variant: "int4" }, { env: { RUNNER_TOOL_CACHE: toolCache }, timeout: 600_000 });
      expect(first.status, first.stdout).toBe(0);
      expect(first.stdout).toContain("installing onnxruntime-node 1.30.0 into the tool cache");
      const layout = cacheLayout(toolCache, "1.30.0");
      expect(first.stdout).toContain(`(installed) from ${layout.packageDir}`);
      expect(existsSync(layout.marker)).toBe(true);
      expect(readdirSync(join(toolCache, "slmops-onnxruntime-node", "1.30.0")).sort()).toEqual([process.arch, `${process.arch}.complete`]);
      const second = runAction(ws, { manifest: "project/slmops.yaml", variant: "int4" }, { env: { RUNNER_TOOL_CACHE: toolCache } });
      expect(second.status).toBe(0);
      expect(second.stdout).toContain(`(tool-cache) from ${layout.packageDir}`);
      expect(variantsOf(second.outputs)[0]?.digest).toBe(variantsOf(first.outputs)[0]?.digest);
    },
  );

  it("runs on its own, copied away from the repository and its node_modules, as a release tag ships it", () => {
    const shipped = mkdtempSync(join(tmpdir(), "shipped-action-"));
    for (const part of ["dist", "action.yml"]) cpSync(join(actionDir, part), join(shipped, part), { recursive: true });
    const ws = workspace();
    const r = runAction(ws, { manifest: "project/slmops.yaml", variant: "int4", "onnxruntime-path": installedRuntime }, { bundle: join(shipped, "dist", "index.js") });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(variantsOf(r.outputs).map((v) => v.variant)).toEqual(["int4"]);
  });

  it("runs under the Node 24 GitHub uses for node24 actions", () => {
    const node = runnerNode();
    const r = runAction(workspace(), { manifest: "project/slmops.yaml", variant: "int8", "onnxruntime-path": installedRuntime });
    expect(r.node).toBe(node.path);
    if (node.note === undefined) expect(r.node).toContain("node-v24.");
    expect(r.status).toBe(0);
  });

  it("pins the onnxruntime-node version that @slmops/runtime is built and tested against", async () => {
    const runtime = JSON.parse(readFileSync(join(repoRoot, "packages", "runtime", "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(pinnedVersion()).toBe(runtime.dependencies["onnxruntime-node"]);
  });
});
