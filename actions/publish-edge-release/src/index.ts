/**
 * The action's entry point (`dist/index.js`): find or install
 * onnxruntime-node (the release's health-check fixture is computed by running
 * each variant), stage the bundle that publishes (`dist/publish.js`, which
 * imports `onnxruntime-node` by name) beside a link to it, then load it.
 */
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as core from "@actions/core";
import { getPathInput, run } from "@slmops/action-kit";
import { locateRuntime, PACKAGE, stageBundles } from "@slmops/runtime-installer";
import { maskKeyInputs } from "./keys.js";

/** The action's `dist/` directory (this bundle's). */
const distDir = dirname(fileURLToPath(import.meta.url));

// Masked before anything else can print: the runner masks `secrets.*` it
// passes, but not a key that reached an input another way.
maskKeyInputs();

await run(async () => {
  const runtime = await locateRuntime({
    preinstalledPath: getPathInput("onnxruntime-path", { withinBase: false })?.absolute,
    toolCache: process.env.RUNNER_TOOL_CACHE,
    log: (line) => core.info(line),
  });
  core.info(`ONNX Runtime: ${PACKAGE} ${runtime.version} (${runtime.source}) from ${runtime.packageDir}`);
  const staged = await stageBundles([join(distDir, "publish.js")], runtime.packageDir, process.env.RUNNER_TEMP ?? tmpdir(), "slmops-publish-");
  try {
    await import(pathToFileURL(staged.path("publish.js")).href);
  } finally {
    await staged.remove();
  }
});
