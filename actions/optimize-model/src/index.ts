/**
 * The action's entry point (`dist/index.js`): find or install
 * onnxruntime-node, stage the bundle that builds the variants
 * (`dist/optimize.js`, which imports `onnxruntime-node` by name) beside a link
 * to it, then load that bundle.
 */
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as core from "@actions/core";
import { getPathInput, run } from "@slmops/action-kit";
import { importWithRuntime } from "@slmops/runtime-installer";

/** The action's `dist/` directory (this bundle's). */
const distDir = dirname(fileURLToPath(import.meta.url));

await run(() =>
  importWithRuntime(join(distDir, "optimize.js"), {
    preinstalledPath: getPathInput("onnxruntime-path", { withinBase: false })?.absolute,
    toolCache: process.env.RUNNER_TOOL_CACHE,
    log: (line) => core.info(line),
    tempDir: process.env.RUNNER_TEMP ?? tmpdir(),
    prefix: "slmops-optimize-",
  }),
);
