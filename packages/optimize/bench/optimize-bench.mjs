/* global process, console, performance */
// Benchmark of the optimization passes on the largest maker preset:
// quantization time against ONNX Runtime session creation on the fp32 model,
// output size against the theoretical size, peak memory against the weight
// bytes, and greedy decode tokens/s of each variant against fp32.
//
//   pnpm --filter @slmops/optimize bench            (preset `large`, ~100M parameters)
//   SLMOPS_BENCH_PRESET=small pnpm --filter @slmops/optimize bench
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir, cpus } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PRESETS, headDim, makeModel, parameterCount } from "@slmops/model-maker";
import { encodeModel } from "@slmops/onnx";
import { createSession, runtimeInfo } from "@slmops/runtime";
import { compareLogits } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);
const presetName = process.env.SLMOPS_BENCH_PRESET ?? "large";
const config = PRESETS[presetName];
if (!config) throw new Error(`unknown preset ${presetName}`);
const PROMPT = 32;
const GENERATE = 32;
const ROUNDS = 3;
const QUALITY_SEQUENCES = 4;
const QUALITY_TOKENS = 64;
const CALIBRATION_SEQUENCES = 16;
const CALIBRATION_TOKENS = 128;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;

const dir = await mkdtemp(join(tmpdir(), "slmops-optimize-bench-"));
try {
  const source = join(dir, "model.onnx");
  const model = makeModel(config);
  const matmulWeights = model.graph.initializer.filter((t) => model.graph.node.some((n) => n.opType === "MatMul" && n.input[1] === t.name));
  const countOf = (t) => t.dims.reduce((a, b) => a * b, 1);
  const quantizableParams = matmulWeights.reduce((a, t) => a + countOf(t), 0);
  const allParams = model.graph.initializer.reduce((a, t) => a + countOf(t), 0);
  const blocks32 = matmulWeights.reduce((a, t) => a + Math.ceil(t.dims[0] / 32) * t.dims[1], 0);
  const otherParams = allParams - quantizableParams;
  await writeFile(source, encodeModel(model));
  const weightBytes = allParams * 4;

  // Baseline: ONNX Runtime session creation on the fp32 model (median of ROUNDS, first one cold).
  const loads = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    const s = await createSession(source);
    loads.push(performance.now() - t0);
    await s.release();
  }
  const loadMs = median(loads);

  const variants = [
    { id: "int4-rtn", bits: 4, passes: [{ quantize: { weights: "int4", "block-size": 32, method: "rtn" } }] },
    { id: "int4-minimize-error", bits: 4, passes: [{ quantize: { weights: "int4", "block-size": 32, method: "minimize-error" } }] },
    { id: "int4-gptq", bits: 4, calibrated: true, passes: [{ quantize: { weights: "int4", "block-size": 32, method: "gptq" } }] },
    { id: "int4-rtn-acc-int8", bits: 4, passes: [{ quantize: { weights: "int4", "block-size": 32, "accuracy-level": "int8" } }] },
    // The CPU's default for int4 rtn is int8 compute (accuracy-level.ts); this is the exact level beside it.
    { id: "int4-rtn-exact", bits: 4, passes: [{ quantize: { weights: "int4", "block-size": 32, "accuracy-level": "fp32" } }] },
    // Mixed precision: the LM head at 8 bits (symmetric, block 32), everything else int4 rtn.
    { id: "int4-head8", bits: 4, passes: [{ quantize: { weights: "int4", "block-size": 32, overrides: [{ nodes: ["/lm_head/MatMul"], weights: "int8" }] } }] },
    { id: "int4-head8-exact", bits: 4, passes: [{ quantize: { weights: "int4", "block-size": 32, overrides: [{ nodes: ["/lm_head/MatMul"], weights: "int8", "accuracy-level": "fp32" }] } }] },
    { id: "int4-rtn-symmetric", bits: 4, symmetric: true, passes: [{ quantize: { weights: "int4", "block-size": 32, symmetric: true } }] },
    { id: "int4-minimize-error-symmetric", bits: 4, symmetric: true, passes: [{ quantize: { weights: "int4", "block-size": 32, symmetric: true, method: "minimize-error" } }] },
    { id: "int8", bits: "8b", passes: [{ quantize: { weights: "int8" } }] },
    { id: "int8-acc-int8", bits: "8b", passes: [{ quantize: { weights: "int8", "accuracy-level": "int8" } }] },
    { id: "int8-dynamic", bits: 8, passes: [{ quantize: { weights: "int8", activations: "dynamic" } }] },
    { id: "fp16", bits: 16, passes: [{ convert: { to: "fp16", "keep-ops": ["ReduceMean", "Softmax"] } }] },
  ];
  const theoretical = {
    // codes + one fp32 scale and one 4-bit zero point per block of 32; the rest stays fp32
    4: quantizableParams / 2 + blocks32 * (4 + 0.5) + otherParams * 4,
    // the same without zero points
    "4s": quantizableParams / 2 + blocks32 * 4 + otherParams * 4,
    // 8-bit codes + one fp32 scale per block of 32 (symmetric: no zero points); the rest stays fp32
    "8b": quantizableParams + blocks32 * 4 + otherParams * 4,
    // codes + one fp32 scale per output column; the rest stays fp32
    8: quantizableParams + matmulWeights.reduce((a, t) => a + t.dims[1] * 4, 0) + otherParams * 4,
    16: allParams * 2,
  };

  // SLMOPS_BENCH_VARIANTS=int8,int8-dynamic: only those (the baseline is always measured).
  const only = process.env.SLMOPS_BENCH_VARIANTS?.split(",").map((id) => id.trim()).filter(Boolean);
  const unknownIds = (only ?? []).filter((id) => !variants.some((v) => v.id === id));
  if (unknownIds.length > 0) throw new Error(`SLMOPS_BENCH_VARIANTS names no variant ${unknownIds.join(", ")}; the variants are ${variants.map((v) => v.id).join(", ")}`);
  // Calibration text for gptq: seeded token sequences of their own (the quality sequences below are others).
  const calibrationFile = join(dir, "calibration.json");
  const calibration = Array.from({ length: CALIBRATION_SEQUENCES }, (_, s) =>
    Array.from({ length: CALIBRATION_TOKENS }, (_, i) => Math.abs(Math.imul(i + 7, 2246822519 + s * 3266489917) ^ (s * 668265263)) % config.vocab),
  );
  await writeFile(calibrationFile, JSON.stringify({ sequences: calibration, source: "seeded token sequences" }));
  const results = [];
  for (const v of variants.filter((x) => !only || only.includes(x.id))) {
    const outDir = join(dir, v.id);
    const { stdout } = await run(process.execPath, [join(here, "optimize-child.mjs"), source, outDir, JSON.stringify(v.passes), ...(v.calibrated ? [calibrationFile] : [])], {
      maxBuffer: 1 << 26,
    });
    const child = JSON.parse(stdout.trim().split("\n").at(-1));
    const passMs = child.record.passes.reduce((a, p) => a + p.durationMs, 0);
    results.push({ ...v, path: child.record.output.path, bytes: child.record.output.bytes, passMs, peak: child.peakRssBytes, start: child.startRssBytes });
  }

  // Decode: greedy, KV cache, PROMPT tokens of prefill then GENERATE single-token steps.
  const prompt = Array.from({ length: PROMPT }, (_, i) => (i * 7919 + 13) % config.vocab);
  const int64 = (xs) => ({ type: "int64", dims: [1, xs.length], data: BigInt64Array.from(xs.map(BigInt)) });
  async function decode(path) {
    const session = await createSession(path);
    try {
      const once = async () => {
        const feeds = { input_ids: int64(prompt), attention_mask: int64(prompt.map(() => 1)), position_ids: int64(prompt.map((_, i) => i)) };
        for (let i = 0; i < config.layers; i++) {
          for (const k of ["key", "value"]) feeds[`past_key_values.${i}.${k}`] = { type: "float32", dims: [1, config.kvHeads, 0, headDim(config)], data: new Float32Array(0) };
        }
        let out = await session.run(feeds);
        const argmaxLast = (logits, dims) => {
          const vocab = dims.at(-1);
          const off = logits.length - vocab;
          let best = 0;
          for (let j = 1; j < vocab; j++) if (logits[off + j] > logits[off + best]) best = j;
          return best;
        };
        let next = argmaxLast(out.logits.data, out.logits.dims);
        const t0 = performance.now();
        for (let step = 0; step < GENERATE; step++) {
          const position = PROMPT + step;
          const f = { input_ids: int64([next]), attention_mask: int64(Array(position + 1).fill(1)), position_ids: int64([position]) };
          for (let i = 0; i < config.layers; i++) {
            f[`past_key_values.${i}.key`] = out[`present.${i}.key`];
            f[`past_key_values.${i}.value`] = out[`present.${i}.value`];
          }
          out = await session.run(f);
          next = argmaxLast(out.logits.data, out.logits.dims);
        }
        return GENERATE / ((performance.now() - t0) / 1000);
      };
      await once(); // warm-up
      const runs = [];
      for (let r = 0; r < ROUNDS; r++) runs.push(await once());
      return { tokensPerSecond: median(runs) };
    } finally {
      await session.release();
    }
  }
  // Quality: KL and top-1 against fp32 over QUALITY_SEQUENCES seeded token sequences (one prefill each).
  const sequences = Array.from({ length: QUALITY_SEQUENCES }, (_, s) =>
    Array.from({ length: QUALITY_TOKENS }, (_, i) => Math.abs(Math.imul(i + 1, 2654435761 + s * 40503) ^ (s * 9973)) % config.vocab),
  );
  async function prefillAll(path) {
    const session = await createSession(path);
    try {
      const out = new Float32Array(QUALITY_SEQUENCES * QUALITY_TOKENS * config.vocab);
      for (const [k, ids] of sequences.entries()) {
        const feeds = { input_ids: int64(ids), attention_mask: int64(ids.map(() => 1)), position_ids: int64(ids.map((_, i) => i)) };
        for (let i = 0; i < config.layers; i++) {
          for (const kind of ["key", "value"]) feeds[`past_key_values.${i}.${kind}`] = { type: "float32", dims: [1, config.kvHeads, 0, headDim(config)], data: new Float32Array(0) };
        }
        const result = await session.run(feeds, ["logits"]);
        out.set(result.logits.data, k * QUALITY_TOKENS * config.vocab);
      }
      return out;
    } finally {
      await session.release();
    }
  }
  const reference = await decode(source);
  const referenceLogits = await prefillAll(source);
  for (const r of results) {
    r.tokensPerSecond = (await decode(r.path)).tokensPerSecond;
    r.quality = compareLogits(referenceLogits, await prefillAll(r.path), config.vocab);
  }

  const info = runtimeInfo();
  console.log(`\n## optimize benchmark — preset \`${presetName}\` (${parameterCount(config).toLocaleString("en-US")} parameters, ${mib(weightBytes)} of fp32 weights)`);
  console.log(`machine: ${cpus()[0]?.model ?? "?"} × ${cpus().length}, Node ${process.version}, onnxruntime-node ${info.onnxruntimeVersion}`);
  console.log(`baseline: ONNX Runtime session creation on the fp32 model, median of ${ROUNDS}: ${loadMs.toFixed(0)} ms; fp32 decode ${reference.tokensPerSecond.toFixed(1)} tokens/s\n`);
  console.log("| variant | pass time | ÷ fp32 session creation | size | ÷ theoretical | peak RSS (growth) | growth ÷ fp32 weight bytes | decode tokens/s | ÷ fp32 | KL vs fp32 | top-1 |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    console.log(
      `| ${r.id} | ${(r.passMs / 1000).toFixed(2)} s | ${(r.passMs / loadMs).toFixed(1)}× | ${mib(r.bytes)} | ${(r.bytes / theoretical[r.symmetric ? "4s" : r.bits]).toFixed(3)} | ${mib(r.peak)} (${mib(r.peak - r.start)}) | ${((r.peak - r.start) / weightBytes).toFixed(2)} | ${r.tokensPerSecond.toFixed(1)} | ${(r.tokensPerSecond / reference.tokensPerSecond).toFixed(2)}× | ${r.quality.klDivergence.toExponential(2)} | ${(r.quality.top1Agreement * 100).toFixed(1)}% |`,
    );
  }
  console.log(`int4-gptq calibrated on ${CALIBRATION_SEQUENCES} seeded token sequences of ${CALIBRATION_TOKENS} tokens, not the quality sequences; its pass time includes running them through ONNX Runtime.`);
  console.log(`\nprompt ${PROMPT} tokens, ${GENERATE} generated greedily with the KV cache; tokens/s median of ${ROUNDS} after one warm-up; KL (mean over positions, nats) and top-1 over ${QUALITY_SEQUENCES} seeded sequences of ${QUALITY_TOKENS} tokens.`);
  console.log("peak RSS: the optimizing process's maximum resident set (OS-measured); growth: above its resident set once Node and ONNX Runtime were loaded.");
  console.log(`theoretical size: quantized MatMul weights at their bits plus their scales (and int4 zero points), every other parameter at fp32 (fp16: all at 2 bytes).`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
