/**
 * How onnxruntime-node reaches a runner. The action's bundle cannot carry the
 * native addon, so `run` mode either uses a preinstalled package (offline
 * devices) or installs the pinned version once per runner into the tool
 * cache:
 *
 *   $RUNNER_TOOL_CACHE/slmops-onnxruntime-node/<version>/<arch>[-<gpu>]/node_modules/…
 *   $RUNNER_TOOL_CACHE/slmops-onnxruntime-node/<version>/<arch>[-<gpu>].complete
 *
 * The install is `npm ci --ignore-scripts` against the lockfile shipped with
 * the action (npm checks every tarball against the lockfile's sha512
 * integrity; no install script runs, so nothing is downloaded from outside
 * the registry), built in a temporary directory beside its final place and
 * renamed into it. The sha256 of every installed file is recorded and checked
 * each time the cache is used; a damaged or tampered cache is reinstalled.
 * GPU binaries (CUDA) are fetched by the package's own install script only
 * when the device asks for a CUDA or TensorRT execution provider.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";

/** The package the benchmark needs on the runner. */
export const PACKAGE = "onnxruntime-node";
const INTEGRITY_FILE = "slmops-integrity.json";
/** Largest lockfile or package.json read. */
const MAX_JSON_BYTES = 4 * 1024 * 1024;

/** Which binaries beyond the CPU ones the device needs. */
export type RuntimeFlavor = "cpu" | "cuda12";

/** An onnxruntime-node package ready to be loaded. */
export interface RuntimePackage {
  /** The package directory (holding its package.json). */
  readonly packageDir: string;
  readonly version: string;
  /** Where it came from. */
  readonly source: "preinstalled" | "tool-cache" | "installed";
}

async function readJson(path: string): Promise<unknown> {
  const info = await stat(path);
  if (info.size > MAX_JSON_BYTES) throw new Error(`${path} is larger than ${MAX_JSON_BYTES} bytes`);
  return JSON.parse(await readFile(path, "utf8")) as unknown;
}

/** The version of onnxruntime-node pinned by the lockfile in `lockDir`. */
export async function pinnedVersion(lockDir: string): Promise<string> {
  const lock = (await readJson(join(lockDir, "package-lock.json"))) as { packages?: Record<string, { version?: unknown }> };
  const version = lock.packages?.[`node_modules/${PACKAGE}`]?.version;
  if (typeof version !== "string") throw new Error(`${join(lockDir, "package-lock.json")} does not pin ${PACKAGE}`);
  return version;
}

/** The flavor a device's execution providers need. */
export function flavorFor(executionProviders: readonly string[]): RuntimeFlavor {
  return executionProviders.some((p) => p === "cuda" || p === "tensorrt") ? "cuda12" : "cpu";
}

/** The native binding this machine loads, inside a package directory. */
export function bindingPath(packageDir: string): string {
  return join(packageDir, "bin", "napi-v6", process.platform, process.arch, "onnxruntime_binding.node");
}

/**
 * A preinstalled onnxruntime-node: the package directory itself, or a
 * directory holding `node_modules/onnxruntime-node`. Checked: it is that
 * package, and it carries the binding for this platform.
 */
export async function preinstalledRuntime(path: string): Promise<RuntimePackage> {
  const nested = join(path, "node_modules", PACKAGE);
  const packageDir = existsSync(join(nested, "package.json")) ? nested : path;
  const manifest = (await readJson(join(packageDir, "package.json")).catch((error: unknown) => {
    throw new ConfigurationError(
      `onnxruntime-path \`${path}\` is not an ${PACKAGE} package (no readable package.json: ${(error as Error).message}). ` +
        `Point it at the package directory, e.g. /opt/slmops/node_modules/${PACKAGE}.`,
    );
  })) as { name?: unknown; version?: unknown };
  if (manifest.name !== PACKAGE || typeof manifest.version !== "string") {
    throw new ConfigurationError(`onnxruntime-path \`${path}\` holds \`${String(manifest.name)}\`, not ${PACKAGE}.`);
  }
  if (!existsSync(bindingPath(packageDir))) {
    throw new ConfigurationError(
      `onnxruntime-path \`${path}\`: ${PACKAGE} ${manifest.version} has no binding for ${process.platform}/${process.arch} ` +
        `(looked for ${relative(packageDir, bindingPath(packageDir))}).`,
    );
  }
  return { packageDir, version: manifest.version, source: "preinstalled" };
}

/** Where the tool cache keeps one install. */
export function cacheLayout(toolCache: string, version: string, flavor: RuntimeFlavor): { dir: string; marker: string; packageDir: string } {
  const leaf = flavor === "cpu" ? process.arch : `${process.arch}-${flavor}`;
  const dir = join(toolCache, `slmops-${PACKAGE}`, version, leaf);
  return { dir, marker: `${dir}.complete`, packageDir: join(dir, "node_modules", PACKAGE) };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Every regular file under `dir` (relative, `/`-separated, sorted), refusing links that lead elsewhere. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(current: string): Promise<void> {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push(relative(dir, path).split(sep).join("/"));
      else if (entry.isSymbolicLink()) out.push(relative(dir, path).split(sep).join("/"));
    }
  }
  await walk(dir);
  return out.sort();
}

interface IntegrityRecord {
  readonly version: string;
  readonly flavor: RuntimeFlavor;
  /** `[path relative to the install, sha256, size]`, sorted by path. */
  readonly files: readonly (readonly [string, string, number])[];
}

/** Records the sha256 of every file under `<dir>/node_modules`. */
export async function recordIntegrity(dir: string, version: string, flavor: RuntimeFlavor): Promise<void> {
  const modules = join(dir, "node_modules");
  const files: [string, string, number][] = [];
  for (const file of await listFiles(modules)) {
    const path = join(modules, file);
    files.push([file, await sha256File(path), (await stat(path)).size]);
  }
  const record: IntegrityRecord = { version, flavor, files };
  const handle = await open(join(dir, INTEGRITY_FILE), "w");
  try {
    await handle.writeFile(`${JSON.stringify(record)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Why the install in `dir` cannot be trusted, or undefined when every file is as recorded. */
export async function verifyIntegrity(dir: string, version: string, flavor: RuntimeFlavor): Promise<string | undefined> {
  let record: IntegrityRecord;
  try {
    record = (await readJson(join(dir, INTEGRITY_FILE))) as IntegrityRecord;
  } catch (error) {
    return `its integrity record cannot be read (${(error as Error).message})`;
  }
  if (record.version !== version || record.flavor !== flavor || !Array.isArray(record.files)) return "its integrity record is for another install";
  const modules = join(dir, "node_modules");
  let present: string[];
  try {
    present = await listFiles(modules);
  } catch (error) {
    return `its files cannot be listed (${(error as Error).message})`;
  }
  const recorded = new Map(record.files.map(([path, sha, size]) => [path, { sha, size }]));
  const extra = present.filter((p) => !recorded.has(p));
  if (extra.length > 0) return `${extra[0] ?? ""} was added after the install`;
  for (const [path, { sha, size }] of recorded) {
    const full = join(modules, path);
    const info = await stat(full).catch(() => undefined);
    if (!info) return `${path} is missing`;
    if (info.size !== size || (await sha256File(full)) !== sha) return `${path} was changed after the install`;
  }
  return undefined;
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"], shell: process.platform === "win32" });
    let tail = "";
    const keep = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      tail = (tail + text).slice(-8192);
      for (const line of text.split("\n")) if (line.trim() !== "") log(line);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", (error) => reject(new Error(`${command} could not start: ${error.message}`, { cause: error })));
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} ${signal ? `was killed by ${signal}` : `exited with code ${String(code)}`}: ${tail.trim()}`));
    });
  });
}

export interface ToolCacheOptions {
  /** `RUNNER_TOOL_CACHE`. */
  readonly toolCache: string;
  /** Directory holding the package.json and package-lock.json that pin onnxruntime-node. */
  readonly lockDir: string;
  readonly flavor: RuntimeFlavor;
  /** The npm command; default `npm`. */
  readonly npm?: string;
  /** Extra npm arguments (e.g. `--offline` with a cache). */
  readonly npmArgs?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
}

/**
 * The pinned onnxruntime-node from the tool cache, installed there first when
 * it is missing, incomplete or fails its integrity check.
 */
export async function toolCacheRuntime(options: ToolCacheOptions): Promise<RuntimePackage> {
  const log = options.log ?? (() => undefined);
  const version = await pinnedVersion(options.lockDir);
  const layout = cacheLayout(options.toolCache, version, options.flavor);
  if (existsSync(layout.marker)) {
    const problem = await verifyIntegrity(layout.dir, version, options.flavor);
    if (problem === undefined) return { packageDir: layout.packageDir, version, source: "tool-cache" };
    log(`the cached ${PACKAGE} ${version} cannot be used: ${problem}; installing it again`);
    await rm(layout.marker, { force: true });
  }
  await mkdir(dirname(layout.dir), { recursive: true });
  const staging = `${layout.dir}.tmp-${randomBytes(6).toString("hex")}`;
  await mkdir(staging);
  try {
    for (const file of ["package.json", "package-lock.json"]) await copyFile(join(options.lockDir, file), join(staging, file));
    const env = { ...process.env, ...options.env, npm_config_update_notifier: "false" };
    log(`installing ${PACKAGE} ${version} (${options.flavor}) into the tool cache`);
    await run(options.npm ?? "npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--omit=dev", ...(options.npmArgs ?? [])], staging, env, log);
    const packageDir = join(staging, "node_modules", PACKAGE);
    if (options.flavor !== "cpu") {
      // The package's own install script fetches the GPU provider libraries it does not ship.
      await run(process.execPath, [join("script", "install.js")], packageDir, { ...env, ONNXRUNTIME_NODE_INSTALL: options.flavor }, log);
    }
    const installed = (await readJson(join(packageDir, "package.json"))) as { version?: unknown };
    if (installed.version !== version) throw new Error(`npm installed ${PACKAGE} ${String(installed.version)}, not the pinned ${version}`);
    if (!existsSync(bindingPath(packageDir))) throw new Error(`${PACKAGE} ${version} has no binding for ${process.platform}/${process.arch}`);
    await recordIntegrity(staging, version, options.flavor);
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
