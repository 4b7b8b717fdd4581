/**
 * int4 methods on decoders with structured weights: the example project's
 * committed model and maker decoders fitted the same way (`fit: bigram`:
 * embedding and LM head fitted to corpus bigram statistics, low-rank like a
 * trained model's), each measured over its own eval text.
 *
 * On these models nearly all of the int4 KL comes from the LM head, and most
 * of that from a few (context, next token) pairs: the KL of one model is one
 * draw whose spread between seeds (0.12–0.44 for round-to-nearest at block
 * 32) is far larger than the difference between the methods. On the example
 * model's own seed, round-to-nearest draws low (one column, token 260,
 * accounts for 0.095 of the 0.11 gap; swapping the search's result into any
 * other of the 40 most probable columns alone is a wash). So the comparison
 * is over eight models (the committed one and seeds 1–7): the search must
 * have the lower mean KL, and the lower KL on most of them. Every KL must
 * stay below 0.5 (a mis-packed weight gives several nats).
 *
 * On the same eight models, calibrated int4 (`method: gptq`), calibrated on
 * text of the same kind kept apart from the eval text: its mean KL must be
 * under half of both calibration-free methods' at block sizes 32 and 128,
 * and no model's KL above round-to-nearest's.
 *
 * On the same eight models, the two int8 forms: block-wise weight-only 8
 * bits through `MatMulNBits` (what `weights: int8` means) and per-channel
 * weights with activations quantized at run time (`activations: dynamic`).
 * Weight-only keeps activations in float: its KL must be at most dynamic's
 * on every model, and well under it on average. Top-1 agreement is reported
 * beside it (on models this small it swings with near-ties either way).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareLogits } from "./metrics.js";
import type { PassSpec } from "./pass-options.js";
import { optimizeModel } from "./pipeline.js";
import { prefillLogitsOfEach } from "./test-support/decoder.js";
import { exampleDecoder, fittedDecoder, type StructuredDecoder } from "./test-support/structured.js";

const SEQUENCES = 12;
const TOKENS = 128;

let dir: string;
/** The eight models, each with its fp32 logits over its own eval text. */
const models: { name: string; decoder: StructuredDecoder; reference: Float32Array }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-optimize-structured-"));
  const example = await exampleDecoder(SEQUENCES, TOKENS);
  models.push({ name: "example", decoder: example, reference: await logitsOf(example.path, example) });
  for (let seed = 1; seed <= 7; seed++) {
    const decoder = await fittedDecoder(join(dir, `seed-${seed}`), seed, SEQUENCES, TOKENS);
    models.push({ name: `seed-${seed}`, decoder, reference: await logitsOf(decoder.path, decoder) });
  }
}, 600_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function logitsOf(path: string, decoder: StructuredDecoder): Promise<Float32Array> {
  return prefillLogitsOfEach(path, decoder.config, decoder.sequences);
}

/** KL divergence and top-1 agreement against fp32 of the model after one pass. */
async function against(model: (typeof models)[number], form: string, pass: PassSpec): Promise<{ kl: number; top1: number }> {
  const record = await optimizeModel({
    source: model.decoder.path,
    outDir: join(dir, `${model.name}-${form}`),
    passes: [pass],
    calibration: { sequences: model.decoder.calibration, source: "calibration text" },
  });
  const c = compareLogits(model.reference, await logitsOf(record.output.path, model.decoder), model.decoder.config.vocab);
  return { kl: c.klDivergence, top1: c.top1Agreement };
}

async function klOfMethods(model: (typeof models)[number]): Promise<{ rtn: number; search: number }> {
  const kl = async (method: "rtn" | "minimize-error") => (await against(model, `int4-${method}`, { quantize: { weights: "int4", "block-size": 32, method, symmetric: false } })).kl;
  return { rtn: await kl("rtn"), search: await kl("minimize-error") };
}

describe("int4 methods on decoders with structured weights", () => {
  it("error-minimizing has the lower mean KL over the example model and fitted maker models, and the lower KL on most", async () => {
    const results: { label: string; rtn: number; search: number }[] = [];
    for (const model of models) results.push({ label: model.decoder.label, ...(await klOfMethods(model)) });
    const table = results.map((r) => `${r.label}: rtn ${r.rtn.toFixed(4)}, minimize-error ${r.search.toFixed(4)}`).join("\n");
    for (const r of results) {
      expect(r.rtn, table).toBeLessThan(0.5);
      expect(r.search, table).toBeLessThan(0.5);
    }
    const mean = (key: "rtn" | "search") => results.reduce((a, r) => a + r[key], 0) / results.length;
    expect(mean("search"), table).toBeLessThan(mean("rtn") * 0.95);
    expect(results.filter((r) => r.search < r.rtn).length, table).toBeGreaterThanOrEqual(5);
  }, 600_000);
});

describe("calibrated int4 (GPTQ) on decoders with structured weights", () => {
  it.each([32, 128])("has a lower mean KL than round-to-nearest and minimize-error at block %i, calibrated on text apart from the eval text, and is never worse than round-to-nearest", async (block) => {
    const results: { label: string; rtn: { kl: number; top1: number }; search: { kl: number; top1: number }; gptq: { kl: number; top1: number } }[] = [];
    for (const model of models) {
      const pass = (method: "rtn" | "minimize-error" | "gptq"): PassSpec => ({ quantize: { weights: "int4", "block-size": block, method, symmetric: false } });
      results.push({
        label: model.decoder.label,
        rtn: await against(model, `int4-${block}-rtn`, pass("rtn")),
        search: await against(model, `int4-${block}-search`, pass("minimize-error")),
        gptq: await against(model, `int4-${block}-gptq`, pass("gptq")),
      });
    }
    const row = (m: { kl: number; top1: number }) => `KL ${m.kl.toFixed(4)} top-1 ${m.top1.toFixed(3)}`;
    const table = results.map((r) => `${r.label}: rtn ${row(r.rtn)}; minimize-error ${row(r.search)}; gptq ${row(r.gptq)}`).join("\n");
    const mean = (key: "rtn" | "search" | "gptq") => results.reduce((a, r) => a + r[key].kl, 0) / results.length;
    for (const r of results) expect(r.gptq.kl, table).toBeLessThanOrEqual(r.rtn.kl);
    // Measured: block 32, mean KL 0.048 against 0.225 (rtn) and 0.192 (minimize-error); block 128, 0.064 against 0.252 and 0.226.
    expect(mean("gptq"), table).toBeLessThan(mean("rtn") * 0.5);
    expect(mean("gptq"), table).toBeLessThan(mean("search") * 0.5);
  }, 900_000);
});

describe("int8 forms on decoders with structured weights", () => {
  it("weight-only (MatMulNBits, 8 bits) has at most dynamic quantization's KL on every model, and under half of it on average", async () => {
    const results: { label: string; weightOnly: { kl: number; top1: number }; dynamic: { kl: number; top1: number } }[] = [];
    for (const model of models) {
      results.push({
        label: model.decoder.label,
        weightOnly: await against(model, "int8", { quantize: { weights: "int8" } }),
        dynamic: await against(model, "int8-dynamic", { quantize: { weights: "int8", activations: "dynamic" } }),
      });
    }
    const table = results
      .map((r) => `${r.label}: weight-only KL ${r.weightOnly.kl.toExponential(3)}, top-1 ${r.weightOnly.top1.toFixed(4)}; dynamic KL ${r.dynamic.kl.toExponential(3)}, top-1 ${r.dynamic.top1.toFixed(4)}`)
      .join("\n");
    for (const r of results) {
      expect(r.weightOnly.kl, table).toBeLessThanOrEqual(r.dynamic.kl);
      expect(r.dynamic.kl, table).toBeLessThan(0.5);
    }
    const mean = (key: "weightOnly" | "dynamic") => results.reduce((a, r) => a + r[key].kl, 0) / results.length;
    expect(mean("weightOnly"), table).toBeLessThan(mean("dynamic") * 0.5);
  }, 600_000);
});

describe("the default accuracy level on decoders with structured weights", () => {
  it("int8 compute costs 4-bit rtn and minimize-error under 5% of their mean KL, and 8-bit weights far more", async () => {
    const rows: string[] = [];
    const ratio = async (weights: "int4" | "int8", method: "rtn" | "minimize-error") => {
      let exact = 0;
      let fast = 0;
      for (const model of models) {
        const pass = (level: "fp32" | "int8"): PassSpec => ({ quantize: { weights, method, "accuracy-level": level } });
        const e = (await against(model, `${weights}-${method}-fp32`, pass("fp32"))).kl;
        const f = (await against(model, `${weights}-${method}-int8`, pass("int8"))).kl;
        rows.push(`${model.decoder.label} ${weights} ${method}: KL ${e.toExponential(3)} exact, ${f.toExponential(3)} int8 compute`);
        exact += e;
        fast += f;
      }
      return fast / exact;
    };
    // Measured: rtn 1.027, minimize-error 1.024; int8 weights 2.7.
    expect(await ratio("int4", "rtn"), rows.join("\n")).toBeLessThan(1.05);
    expect(await ratio("int4", "minimize-error"), rows.join("\n")).toBeLessThan(1.05);
    expect(await ratio("int8", "rtn"), rows.join("\n")).toBeGreaterThan(1.5);
  }, 600_000);
});
