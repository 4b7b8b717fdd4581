import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseOutputFile } from "@slmops/action-kit/testing";
import { actionDir, runnerNode } from "./paths.js";

export const bundlePath = join(actionDir, "dist", "index.js");

export interface ActionRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Outputs parsed from the GITHUB_OUTPUT file (heredoc format). */
  readonly outputs: Record<string, string>;
  readonly summary: string;
  /** The Node.js that ran it. */
  readonly node: string;
}

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

/**
 * Runs the bundled action as the runner does: `node dist/index.js` in the
 * workspace with `INPUT_<NAME>` variables, the event payload file, and the
 * output and summary files. Asynchronous, so a test server in this process
 * keeps answering while the action runs.
 */
export async function runAction(options: RunOptions): Promise<ActionRun> {
  const bundle = options.bundle ?? bundlePath;
  if (!existsSync(bundle)) throw new Error(`${bundlePath} is missing; build the action first (pnpm build).`);
  const node = runnerNode();
  const files = mkdtempSync(join(tmpdir(), "runner-files-"));
  const outputFile = join(files, "github_output");
  const summaryFile = join(files, "step_summary");
  const eventFile = join(files, "event.json");
  writeFileSync(outputFile, "");
  writeFileSync(summaryFile, "");
  writeFileSync(eventFile, JSON.stringify(options.event.payload));
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("INPUT_") && !key.startsWith("GITHUB_") && !key.startsWith("RUNNER_")) env[key] = value;
  }
  for (const [name, value] of Object.entries(options.inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  Object.assign(env, {
    GITHUB_ACTIONS: "true",
    GITHUB_WORKSPACE: options.workspace,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_EVENT_PATH: eventFile,
    GITHUB_EVENT_NAME: options.event.name,
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_RUN_ID: "4242",
    RUNNER_TEMP: files,
    ...options.env,
  });
  const child = spawn(node.path, [bundle], { cwd: options.workspace, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code));
  });
  clearTimeout(timer);
  return { status, stdout, stderr, outputs: parseOutputFile(readFileSync(outputFile, "utf8")), summary: readFileSync(summaryFile, "utf8"), node: node.path };
}
