#!/usr/bin/env node
/* global process, console */
// Bundles a GitHub Action's `src/index.ts`, with every dependency, into one
// ES module at `actions/<name>/dist/index.js` for the runner's Node 24
// (`runs.using: node24`). `dist/` is not committed: the release script bundles
// and commits it on the release tag.
//
//   node scripts/bundle-action.mjs                 every action under actions/
//   node scripts/bundle-action.mjs actions/x ...   the named actions (or `.` inside one)
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { esbuildOptions } from "./esbuild-options.mjs";

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));

/** esbuild options every action bundle shares: one ES module for the runner's Node 24. */
const actionOptions = esbuildOptions("node24");

/** Action directories (those holding an action.yml) under `<root>/actions`. */
export function listActions(root = repoRoot) {
  const dir = join(root, "actions");
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, "action.yml")))
    .map((e) => join(dir, e.name))
    .sort();
}

/**
 * Bundles one action directory. Returns the path of the written bundle and its
 * size in bytes.
 */
export async function bundleAction(actionDir) {
  const dir = resolve(actionDir);
  const entry = join(dir, "src", "index.ts");
  if (!existsSync(entry)) throw new Error(`${relative(process.cwd(), dir) || "."}: no src/index.ts to bundle`);
  const outfile = join(dir, "dist", "index.js");
  await mkdir(dirname(outfile), { recursive: true });
  const result = await build({ ...actionOptions, entryPoints: [entry], outfile, metafile: true, absWorkingDir: dir });
  // The bundle is an ES module wherever the action folder ends up.
  writeFileSync(join(dir, "dist", "package.json"), '{ "type": "module" }\n');
  const bytes = result.metafile.outputs[relative(dir, outfile).split("\\").join("/")]?.bytes ?? 0;
  await bundleExtras(dir);
  return { outfile, bytes };
}

/**
 * Extra bundles an action declares in its package.json, written beside
 * `dist/index.js`, e.g. a script the action starts in a child process:
 *
 *   "bundles": { "runner.js": { "entry": "src/runner.ts", "external": ["onnxruntime-node"] } }
 *
 * `entry` is relative to the action directory; `external` names packages left
 * out of the bundle (a native addon the action installs on the runner).
 */
async function bundleExtras(dir) {
  const { bundles = {} } = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
  for (const [name, spec] of Object.entries(bundles)) {
    if (!/^[\w.-]+\.js$/.test(name) || typeof spec?.entry !== "string") throw new Error(`package.json bundles: "${name}" needs a file name and an entry`);
    await build({
      ...actionOptions,
      entryPoints: [join(dir, spec.entry)],
      outfile: join(dir, "dist", name),
      absWorkingDir: dir,
      external: spec.external ?? [],
    });
  }
}

async function cli(args) {
  const dirs = args.length > 0 ? args.map((a) => resolve(a)) : listActions();
  if (dirs.length === 0) {
    console.error("bundle-action: no actions found (looked for actions/*/action.yml).");
    process.exit(1);
  }
  for (const dir of dirs) {
    const { outfile, bytes } = await bundleAction(dir);
    console.log(`bundled ${basename(dir)} → ${relative(process.cwd(), outfile) || outfile} (${(bytes / 1024).toFixed(0)} KiB)`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await cli(process.argv.slice(2)).catch((error) => {
    console.error(`bundle-action: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
