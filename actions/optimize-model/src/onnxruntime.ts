/**
 * How onnxruntime-node reaches the runner. The `graph-optimize` pass runs
 * ONNX Runtime, whose native addon cannot be bundled, so the action's code
 * that needs it is a separate bundle (`dist/optimize.js`) that imports
 * `onnxruntime-node` from one of:
 *
 * - a preinstalled package named by the `onnxruntime-path` input (offline or
 *   locked-down runners): the package directory, or a directory holding
 *   `node_modules/onnxruntime-node`;
 * - the runner's tool cache, where the pinned version is installed once per
 *   runner and then reused:
 *
 *       $RUNNER_TOOL_CACHE/slmops-onnxruntime-node/<version>/<arch>/node_modules/onnxruntime-node
 *       $RUNNER_TOOL_CACHE/slmops-onnxruntime-node/<version>/<arch>.complete
 *
 * The install is `npm ci --ignore-scripts` against the lockfile shipped in
 * `onnxruntime/` beside the bundle (npm checks each tarball against its
 * sha512; no install script runs: the CPU binaries are in the package). It is
 * built in a temporary directory beside its final place and renamed into it,
 * and the `.complete` marker is written last, so an interrupted install is
 * never used. The layout is the one the bench-on-device-matrix action uses,
 * so the two share one install per runner.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";

export const PACKAGE = "onnxruntime-node";
const MAX_JSON_BYTES = 4 * 1024 * 1024;

/** An onnxruntime-node package ready to be imported. */
export interface RuntimePackage {
  /** The package directory (holding its package.json). */
  readonly packageDir: string;
  readonly version: string;
  readonly source: "preinstalled" | "tool-cache" | "installed";
}

async function readJson(path: string): Promise<unknown> {
  const info = await stat(path);
  if (info.size > MAX_JSON_BYTES) throw new Error(`${path} is larger than ${MAX_JSON_BYTES} bytes`);
  return JSON.parse(await readFile(path, "utf8")) as unknown;
}

/** The native binding of a package directory, for this platform. */
export function bindingPath(packageDir: string): string {
  return join(packageDir, "bin", "napi-v6", process.platform, process.arch, "onnxruntime_binding.node");
}

/** The version of onnxruntime-node the lockfile in `lockDir` pins. */
export async function pinnedVersion(lockDir: string): Promise<string> {
  const lock = (await readJson(join(lockDir, "package-lock.json"))) as { packages?: Record<string, { version?: unknown }> };
  const version = lock.packages?.[`node_modules/${PACKAGE}`]?.version;
  if (typeof version !== "string") throw new Error(`${join(lockDir, "package-lock.json")} does not pin ${PACKAGE}`);
  return version;
}

/**
 * A preinstalled onnxruntime-node: `path` is the package directory or holds
 * `node_modules/onnxruntime-node`. Checked: it is that package and it has a
 * binding for this platform.
 */
export async function preinstalledRuntime(path: string): Promise<RuntimePackage> {
  const nested = join(path, "node_modules", PACKAGE);
  const packageDir = existsSync(join(nested, "package.json")) ? nested : path;
  let manifest: { name?: unknown; version?: unknown };
  try {
    manifest = (await readJson(join(packageDir, "package.json"))) as typeof manifest;
  } catch (error) {
    throw new ConfigurationError(
      `Input \`onnxruntime-path\` (\`${path}\`) is not an ${PACKAGE} package: no readable package.json (${(error as Error).message}). ` +
        `Name the ${PACKAGE} directory, or a directory holding node_modules/${PACKAGE}.`,
    );
  }
  if (manifest.name !== PACKAGE) {
    throw new ConfigurationError(`Input \`onnxruntime-path\` (\`${path}\`) holds \`${String(manifest.name)}\`, not ${PACKAGE}.`);
  }
  if (!existsSync(bindingPath(packageDir))) {
    throw new ConfigurationError(
      `Input \`onnxruntime-path\` (\`${path}\`): ${PACKAGE} ${String(manifest.version)} has no binding for ${process.platform}/${process.arch}.`,
    );
  }
  return { packageDir, version: String(manifest.version), source: "preinstalled" };
}

/** Where the pinned version lives in the tool cache. */
export function cacheLayout(toolCache: string, version: string): { dir: string; marker: string; packageDir: string } {
  const dir = join(toolCache, `slmops-${PACKAGE}`, version, process.arch);
  return { dir, marker: `${dir}.complete`, packageDir: join(dir, "node_modules", PACKAGE) };
}

export interface ToolCacheOptions {
  /** `RUNNER_TOOL_CACHE`. */
  readonly toolCache: string;
  /** Directory holding the package.json and package-lock.json that pin onnxruntime-node. */
  readonly lockDir: string;
  /** The npm command; default: the npm beside the running Node, else `npm` on PATH. */
  readonly npm?: readonly string[];
  readonly log?: (line: string) => void;
}

/** The pinned onnxruntime-node from the tool cache, installed there first when missing or unusable. */
export async function toolCacheRuntime(options: ToolCacheOptions): Promise<RuntimePackage> {
  const log = options.log ?? (() => undefined);
  const version = await pinnedVersion(options.lockDir);
  const layout = cacheLayout(options.toolCache, version);
  if (existsSync(layout.marker)) {
    const problem = await cachedProblem(layout.packageDir, version);
    if (problem === undefined) return { packageDir: layout.packageDir, version, source: "tool-cache" };
    log(`the cached ${PACKAGE} ${version} cannot be used (${problem}); installing it again`);
    await rm(layout.marker, { force: true });
  }
  await mkdir(dirname(layout.dir), { recursive: true });
  const staging = `${layout.dir}.tmp-${randomBytes(6).toString("hex")}`;
  await mkdir(staging);
  try {
    for (const file of ["package.json", "package-lock.json"]) await copyFile(join(options.lockDir, file), join(staging, file));
    log(`installing ${PACKAGE} ${version} into the tool cache (${layout.dir})`);
    const [command = "npm", ...prefix] = options.npm ?? npmCommand();
    await runCommand(command, [...prefix, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--omit=dev", "--prefer-offline"], staging, log);
    const problem = await cachedProblem(join(staging, "node_modules", PACKAGE), version);
    if (problem !== undefined) throw new Error(`npm installed an unusable ${PACKAGE}: ${problem}`);
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

async function cachedProblem(packageDir: string, version: string): Promise<string | undefined> {
  let manifest: { name?: unknown; version?: unknown };
  try {
    manifest = (await readJson(join(packageDir, "package.json"))) as typeof manifest;
  } catch (error) {
    return `no readable package.json: ${(error as Error).message}`;
  }
  if (manifest.name !== PACKAGE || manifest.version !== version) return `it is ${String(manifest.name)} ${String(manifest.version)}, not ${PACKAGE} ${version}`;
  if (!existsSync(bindingPath(packageDir))) return `no binding for ${process.platform}/${process.arch}`;
  return undefined;
}

/** npm as shipped with the running Node (the runner's own), else `npm` on PATH. */
function npmCommand(): string[] {
  const cli = join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "bin", "npm-cli.js");
  return existsSync(cli) ? [process.execPath, cli] : [process.platform === "win32" ? "npm.cmd" : "npm"];
}

function runCommand(command: string, args: readonly string[], cwd: string, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    // Windows runs npm.cmd only through a shell (Node refuses to spawn .cmd files directly).
    const shell = process.platform === "win32" && command.endsWith(".cmd");
    const child = spawn(command, args, { cwd, env: { ...process.env, npm_config_update_notifier: "false" }, stdio: ["ignore", "pipe", "pipe"], shell });
    let tail = "";
    const collect = (chunk: Buffer) => {
      tail = (tail + chunk.toString("utf8")).slice(-4000);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", (error) => reject(new Error(`could not start ${command}: ${error.message}`, { cause: error })));
    child.on("close", (code) => {
      for (const line of tail.trim().split("\n").slice(-5)) if (line) log(`  ${line}`);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code}: ${tail.trim().split("\n").slice(-3).join(" | ")}`));
    });
  });
}
