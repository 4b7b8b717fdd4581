#!/usr/bin/env node
/* global process, console */
// Bundles the CLI, with every workspace package it uses, into `dist/`, so the
// published package depends only on what cannot be bundled:
//
//   dist/bin.js     the `slmops` command (src/bin.ts and everything it imports)
//   dist/worker.js  the benchmark worker, which @slmops/bench starts in a
//                   child process from beside the module that starts it
//
// onnxruntime-node (a native addon) stays out of both bundles: it is a
// dependency of the published package and resolves from node_modules.
//
// Each file is replaced by one rename, so a test running `dist/bin.js` while
// `npm pack` (prepack) rebuilds never sees it missing or half-written.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { esbuildOptions } from "../../scripts/esbuild-options.mjs";

const dir = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const target = `node${/(\d+)/.exec(pkg.engines.node)[1]}`;
const external = Object.keys(pkg.dependencies ?? {});
const options = { ...esbuildOptions(target), absWorkingDir: dir, external, write: false };

const bundles = {
  "bin.js": join(dir, "src", "bin.ts"),
  "worker.js": join(dir, "node_modules", "@slmops", "bench", "dist", "worker.js"),
};

mkdirSync(join(dir, "dist"), { recursive: true });
for (const [name, entry] of Object.entries(bundles)) {
  const outfile = join(dir, "dist", name);
  const { outputFiles } = await build({ ...options, entryPoints: [entry], outfile });
  const [output] = outputFiles;
  const temporary = `${outfile}.${process.pid}.tmp`;
  writeFileSync(temporary, output.contents);
  chmodSync(temporary, name === "bin.js" ? 0o755 : 0o644);
  renameSync(temporary, outfile);
  console.log(`bundled ${relative(process.cwd(), outfile) || outfile} (${(output.contents.length / 1024).toFixed(0)} KiB, ${target})`);
}
