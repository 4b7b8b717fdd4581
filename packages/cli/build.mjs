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
// `npm pack` (prepack) rebuilds never sees it missing or half-written.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
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
