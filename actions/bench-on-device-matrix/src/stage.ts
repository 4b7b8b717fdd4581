/**
 * A directory to start the benchmark runner from: the runner and worker
 * bundles, and `node_modules/onnxruntime-node` linked to the installed
 * package, so the bundles' `import "onnxruntime-node"` resolves to it (and its
 * own dependencies resolve from where it really is).
 */
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PACKAGE } from "./onnxruntime.js";

/** The bundles the runner needs, beside the action's `dist/index.js`. */
export const RUNNER_FILES = ["runner.js", "worker.js"] as const;

/** Stages the runner under `parent` and returns the runner script's path. */
export async function stageRunner(distDir: string, packageDir: string, parent: string): Promise<string> {
  const dir = join(parent, `slmops-bench-runner-${randomBytes(6).toString("hex")}`);
  await mkdir(join(dir, "node_modules"), { recursive: true });
  for (const file of RUNNER_FILES) await copyFile(join(distDir, file), join(dir, file));
  await writeFile(join(dir, "package.json"), '{ "type": "module", "private": true }\n');
  await symlink(packageDir, join(dir, "node_modules", PACKAGE), process.platform === "win32" ? "junction" : "dir");
  return join(dir, "runner.js");
}
