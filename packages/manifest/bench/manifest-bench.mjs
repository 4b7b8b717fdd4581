#!/usr/bin/env node
// How much validation costs on top of parsing: a manifest of 1,000 devices and
// 200 models (3 variants each, 50 gates, a release to every device) is fully
// loaded (parse with positions, schema, semantic checks including file checks,
// normalization) and compared with `yaml` parsing the same text alone, in the
// same process, runs interleaved, median of several runs after a warm-up.
//
// Run after the build: `npx turbo run bench --filter=@slmops/manifest`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LineCounter, parse, parseDocument } from "yaml";
import { parseManifest } from "../dist/index.js";

const DEVICES = 1000;
const MODELS = 200;
const WARMUP = 3;
const RUNS = 21;

function generate(root) {
  const lines = ["version: 1", "models:"];
  for (let m = 0; m < MODELS; m++) {
    const dir = `models/m${m}`;
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, "model.onnx"), "x");
    writeFileSync(join(root, dir, "tokenizer.json"), "{}");
    lines.push(
      `  - id: model-${m}`,
      `    description: Generated model number ${m}.`,
      `    source: ${dir}/model.onnx`,
      "    kind: decoder",
      `    eval: { dataset: data/eval.jsonl, tokenizer: ${dir}/tokenizer.json }`,
      "    variants:",
      "      - id: int4",
      "        passes:",
      "          - quantize: { weights: int4, block-size: 32, method: minimize-error }",
      "          - graph-optimize: { level: extended }",
      "      - id: int8",
      "        passes: [ { quantize: { weights: int8 } } ]",
      "      - id: fp16",
      "        passes:",
      "          - convert: { to: fp16, keep-ops: [LayerNormalization] }",
    );
  }
  mkdirSync(join(root, "data"), { recursive: true });
  writeFileSync(join(root, "data/eval.jsonl"), '{"text":"x"}\n');
  lines.push("devices:");
  for (let d = 0; d < DEVICES; d++) {
    lines.push(
      `  - id: device-${d}`,
      `    runs-on: [self-hosted, linux, arm64, device-${d}]`,
      "    execution-providers: [cpu]",
      `    threads: ${1 + (d % 8)}`,
      `    memory-budget: ${1 + (d % 4)}GiB`,
      "    graph-optimization-level: all",
    );
  }
  lines.push("bench: { warmup: 5, min-iterations: 50, min-duration: 10s, prompt-tokens: 128, generate-tokens: 64 }", "gates:");
  for (let g = 0; g < 50; g++) {
    lines.push(
      `  - name: gate ${g}`,
      `    models: [model-${g}, model-${g + 1}]`,
      `    devices: [${Array.from({ length: 20 }, (_, i) => `device-${(g * 20 + i) % DEVICES}`).join(", ")}]`,
      `    variants: [model-${g}/int4, model-${g + 1}/int8]`,
      "    require:",
      "      decode-latency-p90: { max: 40ms }",
      "      peak-memory: { max: 512MiB }",
      "      kl-divergence: { max: 0.05 }",
      "      regression: { metric: decode-latency-p50, max-increase: 5%, confidence: 0.95 }",
    );
  }
  lines.push("release:", "  channel: stable", "  targets:");
  for (let d = 0; d < DEVICES; d++) lines.push(`    device-${d}: model-${d % MODELS}/int4`);
  lines.push("  rollout:", "    stages: [ { percent: 5, soak: 24h }, { percent: 100 } ]", "    abort: { failure-rate: 2%, min-devices: 20 }");
  return lines.join("\n") + "\n";
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const root = mkdtempSync(join(tmpdir(), "slmops-manifest-bench-"));
try {
  const text = generate(root);
  const options = { file: join(root, "slmops.yaml"), root, displayPath: "slmops.yaml" };
  const first = await parseManifest(text, options);
  if (!first.ok) {
    console.error(first.diagnostics.slice(0, 5));
    throw new Error("the generated manifest does not validate");
  }
  // The loader parses with these options (its own duplicate-key check replaces yaml's quadratic one).
  const sameOptions = () => ({ lineCounter: new LineCounter(), uniqueKeys: false, prettyErrors: false, strict: true, version: "1.2", schema: "core", merge: false, stringKeys: false });
  // Each step is timed by wall clock and by the process's CPU time (user + system);
  // on a shared machine the CPU time moves less with other processes' load.
  const steps = {
    "baseline A, yaml.parse(text), defaults": async () => parse(text),
    "baseline B, parseDocument + toJS, the loader's options": async () => parseDocument(text, sameOptions()).toJS({ maxAliasCount: 100 }),
    "full validation (parseManifest)": async () => {
      const result = await parseManifest(text, options);
      if (!result.ok) throw new Error("validation failed during the benchmark");
    },
    "full validation without file checks": async () => {
      await parseManifest(text, { ...options, checkFiles: false });
    },
  };
  const wall = Object.fromEntries(Object.keys(steps).map((k) => [k, []]));
  const cpu = Object.fromEntries(Object.keys(steps).map((k) => [k, []]));
  for (let run = 0; run < WARMUP + RUNS; run++) {
    for (const [name, step] of Object.entries(steps)) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await step();
      const t = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (run >= WARMUP) {
        wall[name].push(t);
        cpu[name].push((c.user + c.system) / 1000);
      }
    }
  }
  const names = Object.keys(steps);
  const [a, b] = names;
  const lines = text.split("\n").length - 1;
  console.log(`manifest: ${DEVICES} devices, ${MODELS} models (${MODELS * 3} variants), 50 gates, ${DEVICES} release targets — ${lines} lines, ${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB`);
  console.log(`runs: ${RUNS} after ${WARMUP} warm-up, steps interleaved; Node ${process.version}`);
  console.log("| step | wall median | wall min | CPU median | wall ratio A / B | CPU ratio A / B |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const name of names) {
    const w = median(wall[name]);
    const c = median(cpu[name]);
    const ratio = (x, base) => `${(x / median(base[a])).toFixed(2)}× / ${(x / median(base[b])).toFixed(2)}×`;
    console.log(`| ${name} | ${w.toFixed(1)} ms | ${Math.min(...wall[name]).toFixed(1)} ms | ${c.toFixed(1)} ms | ${ratio(w, wall)} | ${ratio(c, cpu)} |`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
