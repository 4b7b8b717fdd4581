/* global process, console */
// int4 quality on decoders with structured weights: the example project's
// committed model and maker `nano` decoders fitted the same way (`fit:
// bigram`) for seeds 1..N, each over its own eval text. Per model: KL(fp32 ‖
// variant) of round-to-nearest and of the error-minimizing search, with every
// MatMul quantized and with only the LM head quantized, and of calibrated
// GPTQ (`method: gptq`) on calibration text of the same kind kept apart from
// the eval text (the example: its eval lines after the ones measured; the
// fitted models: their own "corpus/calibration" stories). Prints a Markdown
// table. Run after a build:
//
//   node bench/structured-kl.mjs            (block 32, seeds 1..7)
//   SLMOPS_BLOCK=16 SLMOPS_SEEDS=9 node bench/structured-kl.mjs
//   SLMOPS_LEVELS=1 node bench/structured-kl.mjs
//
// SLMOPS_LEVELS=1 measures instead the cost of MatMulNBits' int8 compute
// (`accuracy-level: int8`) against the exact level (`fp32`) for int4 rtn,
// minimize-error and gptq and for int8: the figures behind the default
// accuracy level (src/accuracy-level.ts).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeText, headDim, makeModel, parseConfigJson, resolveConfig, stories, trainByteLevelBpe, trainingCorpus } from "@slmops/model-maker";
import { encodeModel, readModel } from "@slmops/onnx";
import { createSession } from "@slmops/runtime";
import { compareLogits, optimizeModel } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const example = join(here, "..", "..", "..", "examples", "story-lm");
const BLOCK = Number(process.env.SLMOPS_BLOCK ?? 32);
const SEEDS = Number(process.env.SLMOPS_SEEDS ?? 7);
const SEQUENCES = 12;
const TOKENS = 128;

const int64 = (v) => ({ type: "int64", dims: [1, v.length], data: BigInt64Array.from(v.map(BigInt)) });

async function logitsOf(path, config, sequences) {
  const session = await createSession(path);
  const parts = [];
  try {
    for (const ids of sequences) {
      const feeds = { input_ids: int64(ids), attention_mask: int64(ids.map(() => 1)), position_ids: int64(ids.map((_, i) => i)) };
      for (let i = 0; i < config.layers; i++) {
        for (const kind of ["key", "value"]) {
          feeds[`past_key_values.${i}.${kind}`] = { type: "float32", dims: [1, config.kvHeads, 0, headDim(config)], data: new Float32Array(0) };
        }
      }
      parts.push((await session.run(feeds, ["logits"])).logits.data);
    }
  } finally {
    await session.release();
  }
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((offset, p) => (all.set(p, offset), offset + p.length), 0);
  return all;
}

function tokenizerFromJson(source) {
  const json = JSON.parse(source);
  const tokens = [];
  for (const [token, id] of Object.entries(json.model.vocab)) tokens[id] = token;
  return { tokens, merges: json.model.merges.map((m) => (Array.isArray(m) ? m : m.split(" "))), bosId: 0, eosId: 1, reservedFrom: tokens.length };
}

const dir = await mkdtemp(join(tmpdir(), "slmops-structured-kl-"));
try {
  const models = [];
  {
    const modelDir = join(example, "models", "story-lm");
    const configPath = join(modelDir, "config.json");
    const config = parseConfigJson(await readFile(configPath, "utf8"), configPath);
    const tokenizer = tokenizerFromJson(await readFile(join(modelDir, "tokenizer.json"), "utf8"));
    const lines = (await readFile(join(example, "data", "eval.jsonl"), "utf8")).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l).text);
    models.push({ label: `example story-lm (seed ${config.seed})`, path: join(modelDir, "model.onnx"), config, tokenizer, texts: lines.slice(0, SEQUENCES), calibration: lines.slice(SEQUENCES, 2 * SEQUENCES) });
  }
  for (let seed = 1; seed <= SEEDS; seed++) {
    const config = resolveConfig({ preset: "nano", seed, tied: false, fit: "bigram" });
    const path = join(dir, `seed-${seed}.onnx`);
    await writeFile(path, encodeModel(makeModel(config)));
    models.push({ label: `nano fit bigram, seed ${seed}`, path, config, tokenizer: trainByteLevelBpe(trainingCorpus(seed), config.vocab), texts: stories(seed, "corpus/eval", SEQUENCES), calibration: stories(seed, "corpus/calibration", SEQUENCES) });
  }
  if (process.env.SLMOPS_LEVELS === "1") await levels(models);
  else await table(models);
} finally {
  await rm(dir, { recursive: true, force: true });
}

async function table(models) {
  console.log(`int4, block ${BLOCK}, zero points; KL(fp32 ‖ variant) over ${SEQUENCES} eval texts of up to ${TOKENS} tokens each\n`);
  console.log("| model | rtn | minimize-error | ratio | rtn, LM head only | minimize-error, LM head only | gptq | gptq / rtn |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  const sums = { rtn: 0, search: 0, gptq: 0 };
  let wins = 0;
  for (const [index, m] of models.entries()) {
    const sequences = m.texts.map((t) => [m.tokenizer.bosId, ...encodeText(m.tokenizer, t)].slice(0, TOKENS));
    const calibration = { sequences: m.calibration.map((t) => [m.tokenizer.bosId, ...encodeText(m.tokenizer, t)].slice(0, TOKENS)) };
    const reference = await logitsOf(m.path, m.config, sequences);
    const matmuls = [];
    const kl = async (method, headOnly) => {
      const quantize = { weights: "int4", "block-size": BLOCK, method, symmetric: false };
      if (headOnly) quantize["exclude-nodes"] = matmuls;
      const record = await optimizeModel({ source: m.path, outDir: join(dir, `${index}-${method}-${headOnly}`), passes: [{ quantize }], calibration });
      return compareLogits(reference, await logitsOf(record.output.path, m.config, sequences), m.config.vocab).klDivergence;
    };
    const graph = (await readModel(m.path)).graph;
    for (const n of graph.node) if (n.opType === "MatMul" && n.name !== "/lm_head/MatMul") matmuls.push(n.name);
    const rtn = await kl("rtn", false);
    const search = await kl("minimize-error", false);
    const rtnHead = await kl("rtn", true);
    const searchHead = await kl("minimize-error", true);
    const gptq = await kl("gptq", false);
    sums.rtn += rtn;
    sums.search += search;
    sums.gptq += gptq;
    if (search < rtn) wins++;
    console.log(`| ${m.label} | ${rtn.toFixed(4)} | ${search.toFixed(4)} | ${(search / rtn).toFixed(2)} | ${rtnHead.toFixed(4)} | ${searchHead.toFixed(4)} | ${gptq.toFixed(4)} | ${(gptq / rtn).toFixed(2)} |`);
  }
  const n = models.length;
  console.log(`| mean of ${n} | ${(sums.rtn / n).toFixed(4)} | ${(sums.search / n).toFixed(4)} | ${(sums.search / sums.rtn).toFixed(2)} | | | ${(sums.gptq / n).toFixed(4)} | ${(sums.gptq / sums.rtn).toFixed(2)} |`);
  console.log(`\nminimize-error lower on ${wins} of ${n}`);
}

async function levels(models) {
  const forms = [
    ["int4 rtn", { weights: "int4", "block-size": BLOCK, method: "rtn" }],
    ["int4 minimize-error", { weights: "int4", "block-size": BLOCK, method: "minimize-error" }],
    ["int4 gptq", { weights: "int4", "block-size": BLOCK, method: "gptq" }],
    ["int8", { weights: "int8", "block-size": BLOCK }],
  ];
  const sums = forms.map(() => [0, 0]);
  console.log(`block ${BLOCK}; KL(fp32 ‖ variant) at the exact level and with int8 compute, over ${SEQUENCES} eval texts of up to ${TOKENS} tokens each\n`);
  console.log(`| model | ${forms.map(([f]) => `${f}: exact | int8 compute`).join(" | ")} |`);
  console.log(`| --- |${forms.map(() => " ---: | ---: |").join("")}`);
  for (const [index, m] of models.entries()) {
    const sequences = m.texts.map((t) => [m.tokenizer.bosId, ...encodeText(m.tokenizer, t)].slice(0, TOKENS));
    const calibration = { sequences: m.calibration.map((t) => [m.tokenizer.bosId, ...encodeText(m.tokenizer, t)].slice(0, TOKENS)) };
    const reference = await logitsOf(m.path, m.config, sequences);
    const cells = [];
    for (const [f, [, quantize]] of forms.entries()) {
      for (const [l, level] of ["fp32", "int8"].entries()) {
        const record = await optimizeModel({ source: m.path, outDir: join(dir, `levels-${index}-${f}-${level}`), passes: [{ quantize: { ...quantize, "accuracy-level": level } }], calibration });
        const kl = compareLogits(reference, await logitsOf(record.output.path, m.config, sequences), m.config.vocab).klDivergence;
        sums[f][l] += kl;
        cells.push(kl.toExponential(3));
      }
    }
    console.log(`| ${m.label} | ${cells.join(" | ")} |`);
  }
  const n = models.length;
  console.log(`| mean of ${n} | ${sums.map(([e, i]) => `${(e / n).toExponential(3)} | ${(i / n).toExponential(3)}`).join(" | ")} |`);
  console.log(`\nint8 compute ÷ exact, mean KL: ${forms.map(([f], i) => `${f} ${(sums[i][1] / sums[i][0]).toFixed(3)}`).join(", ")}`);
}
