import { ConfigurationError } from "@slmops/diagnostics";
import { PACKAGE, type RuntimeFlavor, type RuntimePackage } from "./package.js";
import { preinstalledRuntime } from "./preinstalled.js";
import { toolCacheRuntime, type ToolCacheOptions } from "./tool-cache.js";

export interface LocateOptions extends Omit<ToolCacheOptions, "toolCache"> {
  /** The `onnxruntime-path` input: a preinstalled package, used as it is when set (non-empty). */
  readonly preinstalledPath?: string;
  /** `RUNNER_TOOL_CACHE`; needed when no preinstalled path is given. */
  readonly toolCache?: string;
  /** The action input that names a preinstalled package; default `onnxruntime-path`. */
  readonly input?: string;
  readonly flavor?: RuntimeFlavor;
}

/**
 * The onnxruntime-node an action loads: the preinstalled package when one is
 * named, else the pinned version from the runner's tool cache (installed
 * there on first use). A user's mistake (a path that is not the package, no
 * tool cache) is a `ConfigurationError`.
 */
export async function locateRuntime(options: LocateOptions): Promise<RuntimePackage> {
  const input = options.input ?? "onnxruntime-path";
  if (options.preinstalledPath) return preinstalledRuntime(options.preinstalledPath, input);
  if (!options.toolCache) {
    throw new ConfigurationError(
      `RUNNER_TOOL_CACHE is not set, so ${PACKAGE} cannot be installed; set the \`${input}\` input to a preinstalled ${PACKAGE}.`,
    );
  }
  return toolCacheRuntime({ ...options, toolCache: options.toolCache });
}
