/**
 * The CLI as a user gets it: `npm pack` of the built package, installed into
 * an empty project with plain npm (no workspace, no pnpm).
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binPath } from "./run-cli.js";

/** The package's directory (packages/cli). */
export const packageDir = join(import.meta.dirname, "..", "..");

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment of a user's shell: this process's, without what npm, pnpm
 * or turbo set for the script running the tests (npm_config_*, npm_package_*,
 * npm_lifecycle_*), except the registry and cache a machine is set up with.
 */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = new Set(["npm_config_registry", "npm_config_cache", "npm_config_userconfig"]);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) && !keep.has(key.toLowerCase())) continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: "1", FORCE_COLOR: "", npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false", ...extra };
}

/** Runs a command (no shell) and captures its output. */
export function run(command: string, args: readonly string[], options: SpawnSyncOptions & { cwd: string }): Run {
  const result = spawnSync(command, args, { encoding: "utf8", env: userEnv(), maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error) throw new Error(`${command} ${args.join(" ")} could not run: ${result.error.message}`, { cause: result.error });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function mustSucceed(what: string, result: Run): Run {
  if (result.status !== 0) throw new Error(`${what} exited ${String(result.status)}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** What `npm pack --json` says about the tarball. */
export interface PackInfo {
  readonly filename: string;
  readonly name: string;
  readonly files: readonly { path: string }[];
}

/**
 * Packs the package into `dest` with `npm pack` (its prepack script bundles
 * `dist/` afresh); returns the tarball's path and npm's account of it.
 */
export function packCli(dest: string): { tarball: string; info: PackInfo } {
  if (!existsSync(binPath)) throw new Error(`${binPath} is missing: build the CLI first (npm run build in packages/cli)`);
  mkdirSync(dest, { recursive: true });
  const packed = mustSucceed("npm pack", run("npm", ["pack", "--json", "--pack-destination", dest], { cwd: packageDir }));
  // The prepack script (the bundle build) prints its lines first; npm's JSON follows.
  const json = packed.stdout.slice(packed.stdout.search(/^\[/m));
  const [info] = JSON.parse(json) as PackInfo[];
  if (!info) throw new Error(`npm pack printed no package: ${packed.stdout}`);
  return { tarball: join(dest, info.filename), info };
}

/**
 * Makes `dir` an empty npm project and installs the tarball into it the way
 * the READMEs tell a user to (`npm install --save-dev`), with install scripts
 * off (onnxruntime-node's CPU binaries ship in its package) and npm's cache
 * preferred over the network.
 */
export function installTarball(dir: string, tarball: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), `${JSON.stringify({ name: "scratch-project", version: "1.0.0", private: true }, null, 2)}\n`);
  mustSucceed("npm install", run("npm", ["install", "--save-dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", tarball], { cwd: dir }));
}

/** Runs `npx slmops <args>` in `cwd`, as a user of the installed package does. */
export function npxSlmops(args: readonly string[], cwd: string): Run {
  return run("npx", ["--no-install", "slmops", ...args], { cwd });
}
