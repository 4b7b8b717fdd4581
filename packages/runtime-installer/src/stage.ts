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
