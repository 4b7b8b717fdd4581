import { join } from "node:path";
import { runAction as runBundle, type ActionRun } from "@slmops/action-kit/testing";
import { actionDir } from "./paths.js";

export type { ActionRun };

export const bundlePath = join(actionDir, "dist", "index.js");

/** Runs the bundled action (or `bundle`) as the runner does, in `workspace` with `inputs`. */
export function runAction(workspace: string, inputs: Record<string, string>, bundle: string = bundlePath): ActionRun {
  return runBundle(bundle, workspace, inputs);
}
