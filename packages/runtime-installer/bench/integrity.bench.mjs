#!/usr/bin/env node
/* global console, process */
// What the tool-cache integrity check costs each use of the cache (every
// bench-on-device-matrix `run` job and optimize-model step): verifying the
// sha256 of every file of a real onnxruntime-node install (this repository's,
// copied into a cache layout), against reading the same files without hashing
// as a stream (the floor any check that looks at every byte pays), both in
// this process.
//
//   node bench/integrity.bench.mjs        (after pnpm build; or: pnpm bench in this directory)
import { cpSync, createReadStream, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { recordIntegrity, verifyIntegrity } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = dirname(dirname(dirname(here)));
const REPEATS = 3;

const work = mkdtempSync(join(tmpdir(), "integrity-bench-"));

// A cache entry holding the real package and its dependency, as npm lays them out.
const installed = dirname(createRequire(join(repoRoot, "packages", "runtime", "package.json")).resolve("onnxruntime-node/package.json"));
// Its dependency sits beside it (pnpm's layout, and npm's flat one).
const common = join(dirname(installed), "onnxruntime-common");
const entry = join(work, "entry");
cpSync(installed, join(entry, "node_modules", "onnxruntime-node"), { recursive: true, dereference: true });
cpSync(common, join(entry, "node_modules", "onnxruntime-common"), { recursive: true, dereference: true });

function files(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
const all = files(join(entry, "node_modules"));
let bytes = 0;

/** Streams every file, as the check does, without hashing. */
async function readAll() {
  let total = 0;
  for (const file of all) for await (const chunk of createReadStream(file)) total += chunk.byteLength;
  bytes = total;
}

async function time(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const t0 = await time(() => recordIntegrity(entry, "1.30.0", "cpu"));
// Warm the page cache once, then alternate the two measurements.
await readAll();
const read = [];
const verify = [];
for (let i = 0; i < REPEATS; i++) {
  read.push(await time(readAll));
  verify.push(
    await time(async () => {
      const problem = await verifyIntegrity(entry, "1.30.0", "cpu");
      if (problem !== undefined) throw new Error(`verification failed: ${problem}`);
    }),
  );
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = bytes / 1024 / 1024;
console.log(`onnxruntime-node install: ${all.length} files, ${mib.toFixed(0)} MiB`);
console.log(`record (first install):   ${(t0 / 1000).toFixed(2)} s`);
console.log(`verify (each run job):    ${(median(verify) / 1000).toFixed(2)} s median of ${REPEATS} (${(mib / (median(verify) / 1000)).toFixed(0)} MiB/s)`);
console.log(`read only (baseline):     ${(median(read) / 1000).toFixed(2)} s median of ${REPEATS}`);
console.log(`verify / read:            ${(median(verify) / median(read)).toFixed(2)}×`);
rmSync(work, { recursive: true, force: true });
