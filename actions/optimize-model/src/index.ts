/**
 * The action's entry point (`dist/index.js`): find or install
 * onnxruntime-node, point the `onnxruntime-node` import at it, then load the
 * bundle that builds the variants (`dist/optimize.js`).
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as core from "@actions/core";
import { ConfigurationError, getPathInput, run } from "@slmops/action-kit";
import { resolvePackageFrom } from "./module-location.js";
import { PACKAGE, preinstalledRuntime, toolCacheRuntime, type RuntimePackage } from "./onnxruntime.js";

/** The action's directory: `dist/..`. */
const actionDir = dirname(dirname(fileURLToPath(import.meta.url)));

async function locateRuntime(): Promise<RuntimePackage> {
  const preinstalled = getPathInput("onnxruntime-path", { withinBase: false });
  if (preinstalled) return preinstalledRuntime(preinstalled.absolute);
  const toolCache = process.env.RUNNER_TOOL_CACHE;
  if (!toolCache) {
    throw new ConfigurationError(
      `RUNNER_TOOL_CACHE is not set, so ${PACKAGE} cannot be installed; set the \`onnxruntime-path\` input to a preinstalled ${PACKAGE}.`,
    );
  }
  return toolCacheRuntime({ toolCache, lockDir: join(actionDir, "onnxruntime"), log: (line) => core.info(line) });
}

await run(async () => {
  const runtime = await locateRuntime();
  core.info(`ONNX Runtime: ${PACKAGE} ${runtime.version} (${runtime.source}) from ${runtime.packageDir}`);
  resolvePackageFrom(PACKAGE, runtime.packageDir);
  await import(new URL("./optimize.js", import.meta.url).href);
});
