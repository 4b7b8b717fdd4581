/**
 * The action's entry point (`dist/index.js`): find or install
 * onnxruntime-node (the release's health-check fixture is computed by running
 * each variant), stage the bundle that publishes (`dist/publish.js`, which
 * imports `onnxruntime-node` by name) beside a link to it, then load it.
 */
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as core from "@actions/core";
import { getPathInput, run } from "@slmops/action-kit";
import { importWithRuntime } from "@slmops/runtime-installer";
import { maskKeyInputs } from "./keys.js";

/** The action's `dist/` directory (this bundle's). */
const distDir = dirname(fileURLToPath(import.meta.url));

// Masked before anything else can print: the runner masks `secrets.*` it
// passes, but not a key that reached an input another way.
maskKeyInputs();

await run(() =>
  importWithRuntime(join(distDir, "publish.js"), {
    preinstalledPath: getPathInput("onnxruntime-path", { withinBase: false })?.absolute,
    toolCache: process.env.RUNNER_TOOL_CACHE,
    log: (line) => core.info(line),
    tempDir: process.env.RUNNER_TEMP ?? tmpdir(),
    prefix: "slmops-publish-",
  }),
);
