import { join } from "node:path";
import { runActionAsync, type ActionRun } from "@slmops/action-kit/testing";
import { actionDir } from "./paths.js";

export type { ActionRun };

export const bundlePath = join(actionDir, "dist", "index.js");

export interface RunOptions {
  readonly workspace: string;
  readonly inputs: Record<string, string>;
  /** The event that triggered the run and its payload (written to GITHUB_EVENT_PATH). */
  readonly event: { readonly name: string; readonly payload: unknown };
  /** Extra runner variables (GITHUB_API_URL, GITHUB_REPOSITORY, …). */
  readonly env?: Record<string, string>;
  /** The bundle to run (default this action's `dist/index.js`). */
  readonly bundle?: string;
}

/** Runs the bundled action as the runner does, while a test server in this process keeps answering it. */
export function runAction(options: RunOptions): Promise<ActionRun> {
  return runActionAsync(options.bundle ?? bundlePath, options.workspace, options.inputs, {
    event: options.event,
    env: { GITHUB_SERVER_URL: "https://github.com", GITHUB_RUN_ID: "4242", ...options.env },
  });
}
