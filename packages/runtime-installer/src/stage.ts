/**
 * A directory to load bundles from that import `onnxruntime-node` by name:
 * the bundles copied in, and `node_modules/onnxruntime-node` linked to the
 * located package, so the bundles' `import "onnxruntime-node"` resolves to it
 * (and its own dependencies resolve from where it really is). Works the same
 * for a child process, a worker and an `import()` in the running process.
 */
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { locateRuntime, type LocateOptions } from "./locate.js";
import { PACKAGE } from "./package.js";

/** A staged directory; `remove` deletes it. */
export interface StagedBundles {
  readonly dir: string;
  /** Each staged bundle's path, by file name. */
  path(file: string): string;
  remove(): Promise<void>;
}

/**
 * Stages `files` (bundle paths, e.g. the action's `dist/runner.js`) in a new
 * directory under `parent` beside a link to `packageDir`.
 */
export async function stageBundles(files: readonly string[], packageDir: string, parent: string, prefix = "slmops-runtime-"): Promise<StagedBundles> {
  const dir = join(parent, `${prefix}${randomBytes(6).toString("hex")}`);
  await mkdir(join(dir, "node_modules"), { recursive: true });
  try {
    for (const file of files) await copyFile(file, join(dir, basename(file)));
    await writeFile(join(dir, "package.json"), '{ "type": "module", "private": true }\n');
    await symlink(packageDir, join(dir, "node_modules", PACKAGE), process.platform === "win32" ? "junction" : "dir");
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    path: (file) => join(dir, file),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * An action's entry point whose work is in a bundle that imports
 * `onnxruntime-node` by name (e.g. `dist/optimize.js`): locates the runtime
 * ({@link locateRuntime}), says which one in `log`, stages the bundle beside a
 * link to it, imports it, and removes the staging directory afterwards.
 */
export async function importWithRuntime(bundle: string, options: LocateOptions & { readonly tempDir: string; readonly prefix: string }): Promise<void> {
  const runtime = await locateRuntime(options);
  options.log?.(`ONNX Runtime: ${PACKAGE} ${runtime.version} (${runtime.source}) from ${runtime.packageDir}`);
  const staged = await stageBundles([bundle], runtime.packageDir, options.tempDir, options.prefix);
  try {
    await import(pathToFileURL(staged.path(basename(bundle))).href);
  } finally {
    await staged.remove();
  }
}
