#!/usr/bin/env node
// What refusing a hostile input costs: a 2 GiB sparse file and a FIFO, in the
// place of the eval dataset, the tokenizer and a bench report. Each case runs
// in a fresh Node process, which reports its peak resident memory (maxRSS)
// before and after the refusal and the time the refusing call took, so the
// figures are those of the refusal alone, not of earlier cases.
//
// Run after the build: `npx turbo run bench --filter=@slmops/bench`.
import { execFileSync } from "node:child_process";
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = (file) => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));
const SPARSE_BYTES = 2 * 1024 ** 3;

const dir = mkdtempSync(join(tmpdir(), "slmops-refusal-"));
try {
  const sparse = join(dir, "sparse");
  const fd = openSync(sparse, "w");
  ftruncateSync(fd, SPARSE_BYTES);
  closeSync(fd);
  const fifo = join(dir, "fifo");
  execFileSync("mkfifo", [fifo]);
  const dataset = join(dir, "eval.jsonl");
  writeFileSync(dataset, '{"text": "a"}\n');
  const tokenizer = join(dir, "tokenizer.json");
  writeFileSync(tokenizer, "{}");

  const q = JSON.stringify;
  const evalSet = dist("eval-set.js");
  const report = dist("report.js");
  const cases = [
    ["eval set", "2 GiB sparse", evalSet, `m.loadEval({ dataset: ${q(sparse)}, tokenizer: ${q(tokenizer)} }, limits)`],
    ["eval set", "FIFO", evalSet, `m.loadEval({ dataset: ${q(fifo)}, tokenizer: ${q(tokenizer)} }, limits)`],
    ["tokenizer", "2 GiB sparse", evalSet, `m.loadEval({ dataset: ${q(dataset)}, tokenizer: ${q(sparse)} }, limits)`],
    ["tokenizer", "FIFO", evalSet, `m.loadEval({ dataset: ${q(dataset)}, tokenizer: ${q(fifo)} }, limits)`],
    ["bench report", "2 GiB sparse", report, `m.readReport(${q(sparse)})`],
    ["bench report", "FIFO", report, `m.readReport(${q(fifo)})`],
  ];

  console.log("| input | given | refused as | peak RSS before | peak RSS after | time to refuse |");
  console.log("| --- | --- | --- | ---: | ---: | ---: |");
  for (const [input, given, module, call] of cases) {
    const row = JSON.parse(measure(module, call));
    const mib = (kib) => `${(kib / 1024).toFixed(0)} MiB`;
    console.log(`| ${input} | ${given} | ${row.reason} | ${mib(row.before)} | ${mib(row.after)} | ${row.ms.toFixed(1)} ms |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs `call` (an expression on the module `m` that must reject) in a fresh process; the module is loaded before timing starts. */
function measure(module, call) {
  const script = `
    const limits = { maxSequences: 8, maxSequenceTokens: 16 };
    const m = await import(${JSON.stringify(module)});
    const before = process.resourceUsage().maxRSS;
    const start = performance.now();
    let reason = "accepted (!)";
    try { await ${call}; } catch (error) { reason = error.reason ?? error.constructor.name; }
    const ms = performance.now() - start;
    console.log(JSON.stringify({ reason, before, after: process.resourceUsage().maxRSS, ms }));
  `;
  // A refusal that hung would be killed here and fail the script.
  return execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
}
