import { join } from "node:path";
import { runAction as runBundle, type ActionRun } from "@slmops/action-kit/testing";
import { actionDir } from "./paths.js";

export type { ActionRun };

export const bundlePath = join(actionDir, "dist", "index.js");

/**
 * Runs the bundled action as the runner does, in `workspace` with `inputs`;
 * GitHub's other files and variables (event payload, tool cache) as given.
 */
export function runAction(workspace: string, inputs: Record<string, string>, extraEnv: Record<string, string> = {}, timeoutMs = 300_000): ActionRun {
  return runBundle(bundlePath, workspace, inputs, { env: extraEnv, timeout: timeoutMs });
}
