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
import { genericFeeds, mean, measureGeneric, runBenchmark, standardDeviation } from "../dist/index.js";

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
