import { join } from "node:path";
import { runAction as runBundle, type ActionRun } from "@slmops/action-kit/testing";
import { actionDir } from "./paths.js";

export type { ActionRun };

export const bundlePath = join(actionDir, "dist", "index.js");

/**
 * Runs the bundled action (or `options.bundle`) as the runner does, in
 * `workspace` with `inputs`, a fresh tool cache unless `options.env` names one.
 */
export function runAction(
  workspace: string,
  inputs: Record<string, string>,
  options: { bundle?: string; env?: Record<string, string>; timeout?: number } = {},
): ActionRun {
  return runBundle(options.bundle ?? bundlePath, workspace, inputs, { toolCache: true, env: options.env, timeout: options.timeout ?? 120_000 });
}
