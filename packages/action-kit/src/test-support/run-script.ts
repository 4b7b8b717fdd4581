import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** The built kit, as an action bundle would load it. */
export const kitUrl = pathToFileURL(join(import.meta.dirname, "..", "..", "dist", "index.js")).href;

export interface ScriptRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly output: string;
  readonly summary: string;
  readonly dir: string;
}

/**
 * Runs `body` (an ES module whose `kit` is the built action kit) in a real
 * Node process with the files and variables a GitHub runner provides.
 */
export function runScript(body: string, env: Record<string, string> = {}): ScriptRun {
  const dir = mkdtempSync(join(tmpdir(), "action-kit-"));
  const output = join(dir, "github_output");
  const summary = join(dir, "step_summary");
  writeFileSync(output, "");
  writeFileSync(summary, "");
  const script = join(dir, "script.mjs");
  writeFileSync(script, `import * as kit from ${JSON.stringify(kitUrl)};\n${body}\n`);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("INPUT_") && !k.startsWith("GITHUB_")));
  const result = spawnSync(process.execPath, [script], {
    cwd: dir,
    encoding: "utf8",
    env: { ...clean, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary, GITHUB_WORKSPACE: dir, ...env },
  });
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    output: readFileSync(output, "utf8"),
    summary: readFileSync(summary, "utf8"),
    dir,
  };
}
