/**
 * The pinned onnxruntime-node in the runner's tool cache, installed once per
 * runner and shared by every slmops action:
 *
 *   $RUNNER_TOOL_CACHE/slmops-onnxruntime-node/<version>/<arch>[-<flavor>]/node_modules/…
 *   $RUNNER_TOOL_CACHE/slmops-onnxruntime-node/<version>/<arch>[-<flavor>]/slmops-integrity.json
 *   $RUNNER_TOOL_CACHE/slmops-onnxruntime-node/<version>/<arch>[-<flavor>].complete
 *
 * The install is `npm ci --ignore-scripts` against the pinned lock (npm checks
 * every tarball against the lockfile's sha512; no install script runs, so
 * nothing is fetched from outside the registry), made in a staging directory
 * beside its final place, checked (name, version, this platform's binding),
 * recorded (sha256 of every file), renamed into place, and only then marked
 * complete. An install without its marker is never used; one whose files no
 * longer match the record is installed again. GPU binaries (CUDA) are fetched
 * by the package's own install script only for the `cuda12` flavor.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { recordIntegrity, verifyIntegrity } from "./integrity.js";
import { readJson } from "./json.js";
import { pinnedVersion, SHIPPED_LOCK, type PinnedLock } from "./lock.js";
import { bindingPath, PACKAGE, type RuntimeFlavor, type RuntimePackage } from "./package.js";

/** Where the tool cache keeps one install. */
export interface CacheLayout {
  /** The install directory (holding node_modules and the integrity record). */
  readonly dir: string;
  /** Written last: the install is complete. */
  readonly marker: string;
  /** The onnxruntime-node package directory inside the install. */
  readonly packageDir: string;
}

/** Where the tool cache keeps the install of `version` for this machine's architecture and `flavor`. */
export function cacheLayout(toolCache: string, version: string, flavor: RuntimeFlavor = "cpu"): CacheLayout {
  const leaf = flavor === "cpu" ? process.arch : `${process.arch}-${flavor}`;
  const dir = join(toolCache, `slmops-${PACKAGE}`, version, leaf);
  return { dir, marker: `${dir}.complete`, packageDir: join(dir, "node_modules", PACKAGE) };
}

export interface ToolCacheOptions {
  /** `RUNNER_TOOL_CACHE`. */
  readonly toolCache: string;
  /** Default `cpu`. */
  readonly flavor?: RuntimeFlavor;
  /** The lock to install from; default the one this package ships. */
  readonly lock?: PinnedLock;
  /** The npm command and its leading arguments; default the npm beside the running Node, else `npm` on PATH. */
  readonly npm?: readonly string[];
  /** Extra `npm ci` arguments (e.g. `--offline`). */
  readonly npmArgs?: readonly string[];
  /** Extra environment for npm. */
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
}

/** Why an installed package directory is not the pinned onnxruntime-node for this machine, or undefined. */
async function packageProblem(packageDir: string, version: string): Promise<string | undefined> {
  let manifest: { name?: unknown; version?: unknown };
  try {
    manifest = (await readJson(join(packageDir, "package.json"))) as typeof manifest;
  } catch (error) {
    return `no readable package.json (${(error as Error).message})`;
  }
  if (manifest.name !== PACKAGE || manifest.version !== version) return `it is ${String(manifest.name)} ${String(manifest.version)}, not the pinned ${PACKAGE} ${version}`;
  if (!existsSync(bindingPath(packageDir))) return `${PACKAGE} ${version} has no binding for ${process.platform}/${process.arch}`;
  return undefined;
}

/**
 * The pinned onnxruntime-node from the tool cache, installed there first when
 * it is missing, incomplete, or fails its integrity check.
 */
export async function toolCacheRuntime(options: ToolCacheOptions): Promise<RuntimePackage> {
  const log = options.log ?? (() => undefined);
  const lock = options.lock ?? SHIPPED_LOCK;
  const flavor = options.flavor ?? "cpu";
  const version = pinnedVersion(lock);
  const layout = cacheLayout(options.toolCache, version, flavor);
  if (existsSync(layout.marker)) {
    const problem = (await verifyIntegrity(layout.dir, version, flavor)) ?? (await packageProblem(layout.packageDir, version));
    if (problem === undefined) return { packageDir: layout.packageDir, version, source: "tool-cache" };
    log(`the cached ${PACKAGE} ${version} cannot be used: ${problem}; installing it again`);
    await rm(layout.marker, { force: true });
  }
  await mkdir(dirname(layout.dir), { recursive: true });
  const staging = `${layout.dir}.tmp-${randomBytes(6).toString("hex")}`;
  await mkdir(staging);
  try {
    await writeFile(join(staging, "package.json"), lock.packageJson);
    await writeFile(join(staging, "package-lock.json"), lock.packageLock);
    const env = { ...process.env, ...options.env, npm_config_update_notifier: "false" };
    log(`installing ${PACKAGE} ${version}${flavor === "cpu" ? "" : ` (${flavor})`} into the tool cache (${layout.dir})`);
    const [command = "npm", ...prefix] = options.npm ?? npmCommand();
    const args = [...prefix, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--omit=dev", "--prefer-offline", ...(options.npmArgs ?? [])];
    await runCommand(command, args, staging, env, log);
    const packageDir = join(staging, "node_modules", PACKAGE);
    if (flavor !== "cpu") {
      // The package's own install script fetches the GPU provider libraries it does not ship.
      await runCommand(process.execPath, [join("script", "install.js")], packageDir, { ...env, ONNXRUNTIME_NODE_INSTALL: flavor }, log);
    }
    const problem = await packageProblem(packageDir, version);
    if (problem !== undefined) throw new Error(`npm installed an unusable ${PACKAGE}: ${problem}`);
    await recordIntegrity(staging, version, flavor);
    await rm(layout.dir, { recursive: true, force: true });
    await rename(staging, layout.dir);
    const marker = await open(layout.marker, "w");
    await marker.sync();
    await marker.close();
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { packageDir: layout.packageDir, version, source: "installed" };
}

/** npm as shipped with the running Node (the runner's own), else `npm` on PATH. */
function npmCommand(): string[] {
  const cli = join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "bin", "npm-cli.js");
  return existsSync(cli) ? [process.execPath, cli] : [process.platform === "win32" ? "npm.cmd" : "npm"];
}

/** Runs a command, logging the last lines of its output; rejects with its tail when it fails. */
function runCommand(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    // Windows runs npm.cmd only through a shell (Node refuses to spawn .cmd files directly).
    const shell = process.platform === "win32" && command.endsWith(".cmd");
    const child = spawn(command, [...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"], shell });
    let tail = "";
    const collect = (chunk: Buffer) => {
      tail = (tail + chunk.toString("utf8")).slice(-8192);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", (error) => reject(new Error(`could not start ${command}: ${error.message}`, { cause: error })));
    child.on("close", (code, signal) => {
      for (const line of tail.trim().split("\n").slice(-5)) if (line.trim() !== "") log(`  ${line}`);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} ${signal ? `was killed by ${signal}` : `exited with code ${String(code)}`}: ${tail.trim().split("\n").slice(-3).join(" | ")}`));
    });
  });
}
