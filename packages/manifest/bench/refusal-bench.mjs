#!/usr/bin/env node
// What refusing a hostile manifest costs: a 2 GiB sparse slmops.yaml and a
// FIFO. Each case runs in a fresh Node process, which reports its peak
// resident memory (maxRSS) before and after `loadManifest` refuses the file
// and the time the call took.
//
// Run after the build: `npx turbo run bench --filter=@slmops/manifest`.
import { execFileSync } from "node:child_process";
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const index = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "slmops-manifest-refusal-"));
try {
  const sparse = join(dir, "sparse.yaml");
  const fd = openSync(sparse, "w");
  ftruncateSync(fd, 2 * 1024 ** 3);
  closeSync(fd);
  const fifo = join(dir, "fifo.yaml");
  execFileSync("mkfifo", [fifo]);

  console.log("| input | given | refused as | peak RSS before | peak RSS after | time to refuse |");
  console.log("| --- | --- | --- | ---: | ---: | ---: |");
  for (const [given, path] of [["2 GiB sparse", sparse], ["FIFO", fifo]]) {
    const row = JSON.parse(measure(path));
    const mib = (kib) => `${(kib / 1024).toFixed(0)} MiB`;
    console.log(`| manifest | ${given} | ${row.code} | ${mib(row.before)} | ${mib(row.after)} | ${row.ms.toFixed(1)} ms |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function measure(path) {
  const script = `
    const { loadManifest } = await import(${JSON.stringify(index)});
    const before = process.resourceUsage().maxRSS;
    const start = performance.now();
    const result = await loadManifest(${JSON.stringify(path)});
    const ms = performance.now() - start;
    console.log(JSON.stringify({ code: result.ok ? "accepted (!)" : result.diagnostics[0].code, before, after: process.resourceUsage().maxRSS, ms }));
  `;
  // A refusal that hung would be killed here and fail the script.
  return execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
}
