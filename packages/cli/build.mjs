#!/usr/bin/env node
/* global process, console */
// Bundles the CLI, with every workspace package it uses, into `dist/`, so the
// published package depends only on what cannot be bundled:
//
//   dist/bin.js     the `slmops` command (src/bin.ts and everything it imports),
//   dist/chunk-*.js split into the chunks its commands load on first use (beside
//                   bin.js, so `import.meta.url` in any of them names dist/)
//   dist/worker.js  the benchmark worker, which @slmops/bench starts in a
//                   child process from beside the module that starts it
//
// onnxruntime-node (a native addon) stays out of both bundles: it is a
// dependency of the published package and resolves from node_modules.
//
// The collector's database drivers stay out too, and are loaded only when a
// collector command first uses them (LAZY below): `pg` (a dependency) and
// `better-sqlite3` (an optional dependency: its native addon is built when
// the CLI is installed, and an install where that fails, or that skips
// scripts, must still run every other command). An ES module's imports of an
// external package are hoisted to the top of the bundle and loaded at start;
// so each import of these from bundled code gets a stand-in instead, which
// requires the package on first use (construct, call or property access).
//
// Each file is replaced by one rename, so a test running `dist/bin.js` while
// `npm pack` (prepack) rebuilds never sees it missing or half-written; chunks
// no build of these sources names any more are removed.
import { chmodSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { esbuildOptions } from "../../scripts/esbuild-options.mjs";

const dir = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const target = `node${/(\d+)/.exec(pkg.engines.node)[1]}`;
const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})];

/** External packages loaded on first use rather than when the CLI starts. */
const LAZY = ["better-sqlite3", "pg"];
for (const name of LAZY) if (!external.includes(name)) throw new Error(`build.mjs: ${name} is lazy but not a dependency of the package`);

/** The stand-in's default export: a function proxy forwarding to the package's export, required on first use. */
const lazyModule = (name) => `
let loaded;
const load = () => (loaded ??= require(${JSON.stringify(name)}));
export default new Proxy(function lazy() {}, {
  get: (_, key) => Reflect.get(load(), key),
  has: (_, key) => Reflect.has(load(), key),
  apply: (_, self, args) => Reflect.apply(load(), self, args),
  construct: (_, args) => Reflect.construct(load(), args),
});
`;

const lazyExternals = {
  name: "lazy-externals",
  setup(b) {
    const filter = new RegExp(`^(${LAZY.map((name) => name.replace(/\./g, "\\.")).join("|")})$`);
    b.onResolve({ filter }, (args) => (args.namespace === "lazy-external" ? { path: args.path, external: true } : { path: args.path, namespace: "lazy-external" }));
    b.onLoad({ filter: /.*/, namespace: "lazy-external" }, (args) => ({ contents: lazyModule(args.path), loader: "js", resolveDir: dir }));
  },
};

const options = { ...esbuildOptions(target), absWorkingDir: dir, external, plugins: [lazyExternals], write: false };
const out = join(dir, "dist");

/** Writes one output file by one rename. */
function place(file, contents, mode) {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  chmodSync(temporary, mode);
  renameSync(temporary, file);
}

// bin.js is split: each command loads what it needs (its `await import(...)`s)
// as chunks on first use, so `slmops --version` or `slmops release verify`
// does not compile the optimizer, the benchmark or the collector. Chunk names
// carry their content's hash: the chunks are written before bin.js, and a
// rebuild of unchanged sources writes the same names.
const split = await build({ ...options, entryPoints: { bin: join(dir, "src", "bin.ts") }, outdir: out, splitting: true, chunkNames: "chunk-[hash]" });
const written = new Set();
const entry = split.outputFiles.find((f) => f.path === join(out, "bin.js"));
for (const file of split.outputFiles) {
  if (file === entry) continue;
  place(file.path, file.contents, 0o644);
  written.add(file.path);
}
place(entry.path, entry.contents, 0o755);
for (const name of readdirSync(out)) if (/^chunk-.*\.js$/.test(name) && !written.has(join(out, name))) rmSync(join(out, name), { force: true });
const total = split.outputFiles.reduce((sum, f) => sum + f.contents.length, 0);
console.log(`bundled ${relative(process.cwd(), entry.path) || entry.path} (${(entry.contents.length / 1024).toFixed(0)} KiB, ${written.size} chunks, ${(total / 1024).toFixed(0)} KiB in all, ${target})`);

const worker = await build({ ...options, entryPoints: [join(dir, "node_modules", "@slmops", "bench", "dist", "worker.js")], outfile: join(out, "worker.js") });
place(join(out, "worker.js"), worker.outputFiles[0].contents, 0o644);
console.log(`bundled ${relative(process.cwd(), join(out, "worker.js"))} (${(worker.outputFiles[0].contents.length / 1024).toFixed(0)} KiB, ${target})`);
