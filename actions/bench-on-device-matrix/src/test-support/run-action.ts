import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { actionDir, runnerNode } from "./paths.js";

export const bundlePath = join(actionDir, "dist", "index.js");

export interface ActionRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly outputs: Record<string, string>;
  readonly summary: string;
  /** The runner's temp directory (RUNNER_TEMP) given to the run. */
  readonly runnerTemp: string;
}

/** Parses `name<<DELIMITER\nvalue\nDELIMITER\n` blocks of a GITHUB_OUTPUT file. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (line === "") continue;
    const match = /^([^<=]+)<<(.+)$/.exec(line);
    if (!match) throw new Error(`GITHUB_OUTPUT line ${i + 1} is not a heredoc: ${line}`);
    const [, name = "", delimiter = ""] = match;
    const end = lines.indexOf(delimiter, i + 1);
    if (end < 0) throw new Error(`GITHUB_OUTPUT: ${name} is never closed by ${delimiter}`);
    outputs[name] = lines.slice(i + 1, end).join("\n");
    i = end;
  }
  return outputs;
}

/**
 * Runs the bundled action as the runner does: `node dist/index.js` under the
 * runner's Node 24, inputs as `INPUT_<NAME>`, GitHub's files and variables
 * (event payload, tool cache) as given.
 */
export function runAction(workspace: string, inputs: Record<string, string>, extraEnv: Record<string, string> = {}, timeoutMs = 300_000): ActionRun {
  if (!existsSync(bundlePath)) throw new Error(`${bundlePath} is missing; build the action first (pnpm build).`);
  const node = runnerNode();
  if (node.note) console.warn(node.note);
  const files = mkdtempSync(join(tmpdir(), "runner-files-"));
  const outputFile = join(files, "github_output");
  const summaryFile = join(files, "step_summary");
  writeFileSync(outputFile, "");
  writeFileSync(summaryFile, "");
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("INPUT_") && !key.startsWith("GITHUB_") && !key.startsWith("RUNNER_")) env[key] = value;
  }
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  Object.assign(env, {
    GITHUB_ACTIONS: "true",
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: files,
    ...extraEnv,
  });
  const result = spawnSync(node.path, [bundlePath], { cwd: workspace, env, encoding: "utf8", timeout: timeoutMs });
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    outputs: parseOutputFile(readFileSync(outputFile, "utf8")),
    summary: readFileSync(summaryFile, "utf8"),
    runnerTemp: files,
  };
}
