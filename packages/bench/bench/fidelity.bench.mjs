// Harness fidelity, run by `pnpm bench` (after the build):
//
// 1. Overhead: the mean per-run latency the harness reports (`measureGeneric`,
//    the code the worker runs) against a bare `session.run` loop (total wall
//    time / runs) on the same session, in the same process. Many short
//    rounds alternate the order (bare first, then harness first) to cancel
//    drift; the ratio is harness / bare per round, summarized by its median
//    (robust to rounds another process preempted), over all runs, and as the
//    ratio of the 10th percentiles of round means (the rounds least disturbed
//    by other processes on a shared machine).
//    The same for decode steps of a model-maker decoder, against a
//    hand-written greedy decode loop timing each step alike (pooled samples,
//    mean and percentiles).
// 2. Repeatability: 5 complete benchmarks (`runBenchmark`, a fresh child
//    process each) of the same model; coefficient of variation of their p50.
//
// Prints Markdown tables for BENCHMARKS.md.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { createSession, runtimeInfo } from "@slmops/runtime";
import { DataType, encodeModel, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo } from "@slmops/onnx";
import { writeModelProject } from "@slmops/model-maker";
import { detectDecoder, genericFeeds, mean, measureDecoder, measureGeneric, percentile, runBenchmark, standardDeviation } from "../dist/index.js";

const THREADS = 1;
const ROUNDS = 300;
const REPEATS = 5;

function floats(seed, count, scale) {
  let s = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** y = tanh(x · W1) · W2, x [batch, n]. */
function matmulModel(n, batch) {
  return encodeModel(
    makeModel({
      graph: makeGraph(
        [makeNode("MatMul", ["x", "w1"], ["a"]), makeNode("Tanh", ["a"], ["b"]), makeNode("MatMul", ["b", "w2"], ["y"])],
        "matmul",
        [makeValueInfo("x", DataType.FLOAT, [batch, n])],
        [makeValueInfo("y", DataType.FLOAT, [batch, n])],
        [makeTensor("w1", DataType.FLOAT, [n, n], floats(5, n * n, 0.1)), makeTensor("w2", DataType.FLOAT, [n, n], floats(6, n * n, 0.1))],
      ),
    }),
  );
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(3)} ms`);

async function overhead(path, runs, warmup) {
  const session = await createSession(path, { intraOpThreads: THREADS, interOpThreads: 1 });
  const feeds = genericFeeds(session.inputs, 0, 1);
  const bare = async () => {
    for (let i = 0; i < warmup; i++) await session.run(feeds);
    const start = performance.now();
    for (let i = 0; i < runs; i++) await session.run(feeds);
    return (performance.now() - start) / runs;
  };
  const harness = async () => {
    const m = await measureGeneric(session, { rules: { warmup, minIterations: runs, minDurationMs: 0, maxIterations: runs }, seed: 0, promptTokens: 1 });
    return mean(m.latencyMs);
  };
  const rows = [];
  for (let r = 0; r < ROUNDS; r++) {
    let b;
    let h;
    if (r % 2 === 0) {
      b = await bare();
      h = await harness();
    } else {
      h = await harness();
      b = await bare();
    }
    rows.push({ bare: b, harness: h, ratio: h / b });
  }
  await session.release();
  return rows;
}

/**
 * Decode steps: per-step latencies the harness reports (`measureDecoder`)
 * against a hand-written greedy decode loop on the same session that times
 * each `session.run` + argmax the same way. Rounds alternate; samples are
 * pooled, and compared by mean and by percentiles (the percentiles are what
 * gates read, and are far less sensitive to preemption by other processes).
 */
async function decodeOverhead(path, rounds, promptTokens, generateTokens) {
  const session = await createSession(path, { intraOpThreads: THREADS, interOpThreads: 1 });
  const layout = detectDecoder(session);
  const i64 = (values) => ({ type: "int64", dims: [1, values.length], data: BigInt64Array.from(values, BigInt) });
  const prompt = Array.from({ length: promptTokens }, (_, i) => (i * 7919) % 200);
  const argmaxLast = (logits) => {
    const vocab = logits.dims[2];
    const offset = (logits.dims[1] - 1) * vocab;
    let best = 0;
    for (let i = 1; i < vocab; i++) if (logits.data[offset + i] > logits.data[offset + best]) best = i;
    return best;
  };
  const bare = async () => {
    const steps = [];
    const feeds = { input_ids: i64(prompt) };
    if (layout.hasAttentionMask) feeds.attention_mask = i64(prompt.map(() => 1));
    if (layout.hasPositionIds) feeds.position_ids = i64(prompt.map((_, i) => i));
    for (const slot of layout.cache) feeds[slot.input] = { type: "float32", dims: [1, slot.heads, 0, slot.headDim], data: new Float32Array(0) };
    let out = await session.run(feeds);
    let token = argmaxLast(out.logits);
    let past = prompt.length;
    for (let step = 0; step < generateTokens; step++) {
      const next = { input_ids: i64([token]) };
      if (layout.hasAttentionMask) next.attention_mask = i64(new Array(past + 1).fill(1));
      if (layout.hasPositionIds) next.position_ids = i64([past]);
      for (const slot of layout.cache) next[slot.input] = out[slot.output];
      const start = performance.now();
      out = await session.run(next);
      token = argmaxLast(out.logits);
      steps.push(performance.now() - start);
      past++;
    }
    return steps;
  };
  const harness = async () => {
    const m = await measureDecoder(session, layout, {
      rules: { warmup: 0, minIterations: 1, minDurationMs: 0, maxIterations: 1 },
      seed: 0,
      promptTokens,
      generateTokens,
    });
    return m.decodeMs;
  };
  await bare();
  const bareSteps = [];
  const harnessSteps = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      bareSteps.push(...(await bare()));
      harnessSteps.push(...(await harness()));
    } else {
      harnessSteps.push(...(await harness()));
      bareSteps.push(...(await bare()));
    }
  }
  await session.release();
  return { bareSteps, harnessSteps };
}

async function repeatability(name, models, settings, metric) {
  const p50s = [];
  for (let i = 0; i < REPEATS; i++) {
    const report = await runBenchmark({ device: { id: "bench", intraOpThreads: THREADS, interOpThreads: 1 }, settings, models });
    const r = report.results[0];
    if (r.status !== "ok") throw new Error(`${name}: ${r.failure?.message}`);
    p50s.push(r.metrics[metric]);
  }
  return { name, metric, p50s, cv: standardDeviation(p50s) / mean(p50s) };
}

const dir = await mkdtemp(join(os.tmpdir(), "slmops-bench-fidelity-"));
try {
  const small = join(dir, "small.onnx");
  const medium = join(dir, "medium.onnx");
  await writeFile(small, matmulModel(128, 4));
  await writeFile(medium, matmulModel(512, 16));
  const story = await writeModelProject(join(dir, "story"), { preset: "tiny", evalSamples: 4 });

  console.log(`Node ${process.version}, ONNX Runtime ${runtimeInfo().onnxruntimeVersion}, ${os.cpus()[0]?.model ?? "?"} × ${os.availableParallelism()}, intra-op threads ${THREADS}, load average at start ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}\n`);

  console.log("### Harness overhead (same session, same process)\n");
  console.log("| model | rounds × runs | bare loop mean (median of rounds) | harness mean (median of rounds) | harness / bare (median of rounds) | ratio interquartile range | harness / bare (all runs) | harness / bare (10th percentile of round means) |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const [name, path, runs] of [
    ["MatMul 4×128·128×128 (tiny)", small, 100],
    ["MatMul 16×512·512×512", medium, 10],
  ]) {
    const rows = await overhead(path, runs, 5);
    const ratios = rows.map((r) => r.ratio).sort((a, b) => a - b);
    const q = (p) => ratios[Math.min(ratios.length - 1, Math.floor(p * ratios.length))];
    const decile = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 10)];
    const fastest = decile(rows.map((r) => r.harness)) / decile(rows.map((r) => r.bare));
    console.log(
      `| ${name} | ${ROUNDS} × ${runs} | ${fmt(median(rows.map((r) => r.bare)))} | ${fmt(median(rows.map((r) => r.harness)))} | ${median(ratios).toFixed(4)} | ${q(0.25).toFixed(4)} – ${q(0.75).toFixed(4)} | ${(mean(rows.map((r) => r.harness)) / mean(rows.map((r) => r.bare))).toFixed(4)} | ${fastest.toFixed(4)} |`,
    );
  }

  {
    const { bareSteps, harnessSteps } = await decodeOverhead(story.paths.model, 40, 64, 64);
    console.log(`\nDecode steps of the model-maker \`tiny\` decoder (prompt 64, 64 steps per generation, 40 generations each, alternating):\n`);
    console.log("| statistic | bare decode loop | harness | harness / bare |");
    console.log("| --- | --- | --- | --- |");
    const line = (label, f) => console.log(`| ${label} | ${fmt(f(bareSteps))} | ${fmt(f(harnessSteps))} | ${(f(harnessSteps) / f(bareSteps)).toFixed(4)} |`);
    line("mean", mean);
    for (const p of [10, 50, 90]) line(`p${p}`, (xs) => percentile(xs, p));
  }

  console.log(`\n### Run-to-run spread of p50 over ${REPEATS} complete benchmarks (fresh child process each)\n`);
  console.log("| model | settings | metric | p50 of each run | CV |");
  console.log("| --- | --- | --- | --- | --- |");
  const generic = { warmup: 20, minIterations: 200, minDurationMs: 2000, promptTokens: 1, generateTokens: 0 };
  const decoder = { warmup: 2, minIterations: 5, minDurationMs: 3000, promptTokens: 64, generateTokens: 64 };
  const spreads = [
    await repeatability("MatMul 16×512·512×512", [{ id: "mm", source: medium, variants: [{ id: "fp32", path: medium }] }], generic, "latency-p50"),
    ...(await (async () => {
      const models = [{ id: "story-lm", source: story.paths.model, kind: "decoder", variants: [{ id: "fp32", path: story.paths.model }] }];
      return [
        await repeatability("story-lm tiny (model-maker), decode", models, decoder, "decode-latency-p50"),
        await repeatability("story-lm tiny (model-maker), ttft", models, decoder, "ttft"),
      ];
    })()),
  ];
  const describe = (s) =>
    s === generic
      ? `warmup ${s.warmup}, ≥${s.minIterations} runs, ≥${s.minDurationMs / 1000}s`
      : `warmup ${s.warmup}, ≥${s.minIterations} generations, ≥${s.minDurationMs / 1000}s, prompt ${s.promptTokens}, generate ${s.generateTokens}`;
  for (const [i, s] of spreads.entries()) {
    console.log(`| ${s.name} | ${describe(i === 0 ? generic : decoder)} | ${s.metric} | ${s.p50s.map(fmt).join(", ")} | ${(s.cv * 100).toFixed(2)}% |`);
  }
  console.log(`\nload average at end: ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
