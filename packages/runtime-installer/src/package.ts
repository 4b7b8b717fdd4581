/** What the installer installs, and how a package directory is checked. */
import { join } from "node:path";

/** The package the actions need on a runner. */
export const PACKAGE = "onnxruntime-node";

/** Which binaries beyond the CPU ones a device needs. */
export type RuntimeFlavor = "cpu" | "cuda12";

/** An onnxruntime-node package ready to be loaded. */
export interface RuntimePackage {
  /** The package directory (holding its package.json). */
  readonly packageDir: string;
  readonly version: string;
  /** Where it came from: the `onnxruntime-path` input, a verified tool-cache install, or an install just made. */
  readonly source: "preinstalled" | "tool-cache" | "installed";
}

/** The flavor a device's execution providers need: CUDA binaries for `cuda` or `tensorrt`. */
export function flavorFor(executionProviders: readonly string[]): RuntimeFlavor {
  return executionProviders.some((p) => p === "cuda" || p === "tensorrt") ? "cuda12" : "cpu";
}

/** The native binding this machine loads, inside a package directory. */
export function bindingPath(packageDir: string): string {
  return join(packageDir, "bin", "napi-v6", process.platform, process.arch, "onnxruntime_binding.node");
}
