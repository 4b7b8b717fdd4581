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
  /** Outputs parsed from the GITHUB_OUTPUT file (heredoc format). */
  readonly outputs: Record<string, string>;
  /** The raw GITHUB_OUTPUT file. */
  readonly outputFile: string;
  readonly summary: string;
  readonly node: string;
}

/** Parses `name<<DELIMITER\nvalue\nDELIMITER\n` blocks, checking each delimiter closes its block. */
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
 * Runs the bundled action as the runner does: `node dist/index.js` in the
 * workspace, inputs as `INPUT_<NAME>` variables, and the output and summary
 * files it provides.
 */
export function runAction(
  workspace: string,
  inputs: Record<string, string>,
  options: { bundle?: string; env?: Record<string, string>; timeout?: number } = {},
): ActionRun {
  const bundle = options.bundle ?? bundlePath;
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing; build the action first (pnpm build).`);
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
    RUNNER_TOOL_CACHE: join(files, "tool-cache"),
    ...options.env,
  });
  const result = spawnSync(node.path, [bundle], { cwd: workspace, env, encoding: "utf8", timeout: options.timeout ?? 120_000 });
  const outputText = readFileSync(outputFile, "utf8");
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    outputs: parseOutputFile(outputText),
    outputFile: outputText,
    summary: readFileSync(summaryFile, "utf8"),
    node: node.path,
  };
}
