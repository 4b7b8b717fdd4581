/**
 * Every pass on a real maker decoder, run in ONNX Runtime and compared with
 * the fp32 model position by position (128 positions of one prefill).
 *
 * The maker's weights are seeded random at realistic scales, so its
 * next-token distributions are broad and KL values are small in absolute
 * terms; each bound sits about an order of magnitude above what the pass
 * gives, and far below what a broken one gives (a mis-packed int4 weight
 * or a lost Cast pushes KL past 0.1). Tolerances, and why:
 *
 * - int8 (dynamic): KL < 1e-3, top-1 ≥ 95%: per-channel 8-bit weights are
 *   near exact; most of the error is the per-tensor uint8 activations.
 * - int4: KL < 0.01, top-1 ≥ 90%: 16 levels per block is a coarse grid; the
 *   error-minimizing search must beat round-to-nearest on the same model:
 *   lower mean KL over six token sequences, and lower on at least four.
 * - fp16: max |Δlogit| < 0.01, top-1 ≥ 98%: 11-bit mantissas with fp32 at the
 *   edges and around the reductions.
 * - prune 50%: it changes the model (that is the point): KL < 0.5; the zero
 *   count must be exact.
 * - graph-optimize: the same function re-expressed, so logits within 1e-3.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataType } from "@slmops/onnx";
import { inferElementTypes } from "./element-types.js";
import { compareLogits, type LogitComparison } from "./metrics.js";
import { dequantizeNBits, quantizeNBits } from "./matmul-nbits.js";
import { loadModel } from "./model-io.js";
import { readFloats } from "./tensors.js";
import { optimizeModel, type OptimizeProgress, type VariantRecord } from "./pipeline.js";
import type { PassSpec } from "./pass-options.js";
import { prefillFeeds, prefillLogits, prefillLogitsOfEach, tokens, writeDecoder, type DecoderFile } from "./test-support/decoder.js";
import { createSession } from "@slmops/runtime";

let dir: string;
let decoder: DecoderFile;
let ids: number[];
let reference: Float32Array;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-optimize-test-"));
  decoder = await writeDecoder(join(dir, "source"), "tiny");
  ids = tokens(128, decoder.config.vocab);
  reference = await prefillLogits(decoder.path, decoder.config, ids);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function variant(name: string, passes: PassSpec[], onProgress?: (p: OptimizeProgress) => void): Promise<{ record: VariantRecord; cmp: LogitComparison }> {
  const record = await optimizeModel({ source: decoder.path, passes, outDir: join(dir, name), ...(onProgress ? { onProgress } : {}) });
  const logits = await prefillLogits(record.output.path, decoder.config, ids);
  return { record, cmp: compareLogits(reference, logits, decoder.config.vocab) };
}

describe("passes on a maker decoder (tiny preset)", () => {
  it("int4 error-minimizing reconstructs every maker weight more closely than round-to-nearest", async () => {
    const model = await loadModel(decoder.path);
    const g = model.graph!;
    const weights = g.node.filter((n) => n.opType === "MatMul").map((n) => g.initializer.find((t) => t.name === n.input[1]));
    const squared = (a: Float32Array, b: Float32Array) => a.reduce((acc, v, i) => acc + (v - b[i]!) ** 2, 0);
    let checked = 0;
    for (const t of weights) {
      if (!t) continue;
      const [K, N] = t.dims as [number, number];
      const w = readFloats(t);
      for (const symmetric of [false, true]) {
        const rtn = dequantizeNBits(quantizeNBits(w, K, N, { blockSize: 32, symmetric, method: "rtn" }));
        const search = dequantizeNBits(quantizeNBits(w, K, N, { blockSize: 32, symmetric, method: "minimize-error" }));
        expect(squared(w, search)).toBeLessThan(squared(w, rtn) * 0.97);
      }
      checked++;
    }
    expect(checked).toBe(decoder.config.layers * 7 + 1);
  }, 60_000);

  it.each([false, true])("int4 error-minimizing has lower KL than round-to-nearest on the same model (symmetric %s)", async (symmetric) => {
    // Six token sequences: KL differences between methods vary with the input,
    // so the comparison is over all of them, and most must agree.
    const sequences = Array.from({ length: 6 }, (_, s) => tokens(64, decoder.config.vocab, 100 + s));
    const logitsOf = (path: string) => prefillLogitsOfEach(path, decoder.config, sequences);
    const reference = await logitsOf(decoder.path);
    const measure = async (method: "rtn" | "minimize-error") => {
      const record = await optimizeModel({
        source: decoder.path,
        outDir: join(dir, `int4-${method}-${symmetric}`),
        passes: [{ quantize: { weights: "int4", "block-size": 32, method, symmetric } }],
      });
      return { record, cmp: compareLogits(reference, await logitsOf(record.output.path), decoder.config.vocab) };
    };
    const rtn = await measure("rtn");
    const search = await measure("minimize-error");
    for (const v of [rtn, search]) {
      expect(v.cmp.klDivergence).toBeLessThan(0.01);
      expect(v.cmp.top1Agreement).toBeGreaterThanOrEqual(0.9);
    }
    expect(search.cmp.klDivergence).toBeLessThan(rtn.cmp.klDivergence * 0.99);
    const perSequence = (c: LogitComparison) =>
      sequences.map((_, k) => c.klPerPosition.slice(k * 64, (k + 1) * 64).reduce((a, b) => a + b, 0));
    const wins = perSequence(search.cmp).filter((v, k) => v < perSequence(rtn.cmp)[k]!).length;
    expect(wins).toBeGreaterThanOrEqual(4);
    const model = await loadModel(search.record.output.path);
    const nbits = model.graph!.node.filter((n) => n.opType === "MatMulNBits");
    expect(nbits).toHaveLength(decoder.config.layers * 7 + 1);
    expect(search.record.output.bytes).toBeLessThan(search.record.source.bytes * 0.5);
  }, 120_000);

  it("int4 symmetric and other block sizes load, run and stay close", async () => {
    for (const [blockSize, symmetric] of [[16, false], [64, true], [128, false]] as const) {
      const v = await variant(`int4-${blockSize}-${symmetric}`, [{ quantize: { weights: "int4", "block-size": blockSize, symmetric } }]);
      expect(v.cmp.klDivergence).toBeLessThan(0.01);
      expect(v.cmp.top1Agreement).toBeGreaterThanOrEqual(0.9);
    }
  }, 120_000);

  it("int8 block-wise weight-only: one MatMulNBits of 8 bits per MatMul, close to fp32, under half its size", async () => {
    const v = await variant("int8", [{ quantize: { weights: "int8" } }]);
    expect(v.cmp.klDivergence).toBeLessThan(1e-3);
    expect(v.cmp.top1Agreement).toBeGreaterThanOrEqual(0.95);
    expect(v.record.output.bytes).toBeLessThan(v.record.source.bytes * 0.5);
    const g = (await loadModel(v.record.output.path)).graph!;
    const nbits = g.node.filter((n) => n.opType === "MatMulNBits");
    expect(nbits.length).toBeGreaterThan(0);
    for (const n of nbits) expect(n.attribute.find((a) => a.name === "bits")?.i).toBe(8n);
    // Every MatMul with a constant weight became one; what is left multiplies activations (attention).
    const constants = new Set(g.initializer.map((t) => t.name));
    expect(g.node.filter((n) => n.opType === "MatMul" && constants.has(n.input[1] ?? ""))).toEqual([]);
    expect(g.node.some((n) => n.opType === "DynamicQuantizeLinear")).toBe(false);
  }, 60_000);

  it("int8 per-channel with dynamic activations", async () => {
    const v = await variant("int8-dynamic", [{ quantize: { weights: "int8", activations: "dynamic" } }]);
    expect(v.cmp.klDivergence).toBeLessThan(1e-3);
    expect(v.cmp.top1Agreement).toBeGreaterThanOrEqual(0.95);
    expect(v.record.output.bytes).toBeLessThan(v.record.source.bytes * 0.5);
    expect((await loadModel(v.record.output.path)).graph!.node.some((n) => n.opType === "DynamicQuantizeLinear")).toBe(true);
  }, 60_000);

  it("fp16 keeps fp32 inputs and outputs and stays within fp16 precision", async () => {
    const v = await variant("fp16", [{ convert: { to: "fp16", "keep-ops": ["ReduceMean", "Softmax"] } }]);
    expect(v.cmp.maxAbsDiff).toBeLessThan(0.01);
    expect(v.cmp.top1Agreement).toBeGreaterThanOrEqual(0.98);
    const model = await loadModel(v.record.output.path);
    const g = model.graph!;
    expect(g.input.find((i) => i.name === "past_key_values.0.key")!.type!.tensorType!.elemType).toBe(DataType.FLOAT);
    expect(g.output.find((o) => o.name === "logits")!.type!.tensorType!.elemType).toBe(DataType.FLOAT);
    // Weights are fp16; only small constants of the fp32 region (rotary frequencies, mask values) stay fp32.
    for (const t of g.initializer.filter((x) => x.dataType === DataType.FLOAT)) {
      expect(t.dims.reduce((a, b) => a * b, 1)).toBeLessThanOrEqual(64);
    }
    expect(g.initializer.filter((t) => t.dims.length === 2).every((t) => t.dataType === DataType.FLOAT16)).toBe(true);
    // Rotary angles are computed in fp32 and cross into fp16 through Clip + Cast.
    const types = inferElementTypes(g);
    const trig = g.node.filter((n) => n.opType === "Cos" || n.opType === "Sin");
    expect(trig.length).toBeGreaterThan(0);
    for (const n of trig) expect(types.get(n.input[0]!)).toBe(DataType.FLOAT);
    expect(g.node.filter((n) => n.opType === "Clip").length).toBeGreaterThan(0);
    // Far into the context, rotary angles in fp16 would be off by up to a radian; computed in fp32 they are not.
    const far = ids.slice(0, 32);
    const at = async (path: string) => {
      const session = await createSession(path);
      try {
        const feeds = prefillFeeds(decoder.config, far);
        feeds.position_ids = { type: "int64", dims: [1, far.length], data: BigInt64Array.from(far.map((_, i) => BigInt(460 + i))) };
        return (await session.run(feeds, ["logits"])).logits!.data as Float32Array;
      } finally {
        await session.release();
      }
    };
    const farCmp = compareLogits(await at(decoder.path), await at(v.record.output.path), decoder.config.vocab);
    expect(farCmp.maxAbsDiff).toBeLessThan(0.01);
    // ReduceMean and Softmax compute in fp32: every input is a Cast to FLOAT.
    const producers = new Map(g.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
    for (const n of g.node.filter((x) => x.opType === "Softmax" || x.opType === "ReduceMean")) {
      const producer = producers.get(n.input[0]!)!;
      expect(producer.opType).toBe("Cast");
      expect(Number(producer.attribute[0]!.i)).toBe(DataType.FLOAT);
    }
    expect(v.record.output.bytes).toBeLessThan(v.record.source.bytes * 0.55);
  }, 60_000);

  it("prune reaches the sparsity exactly and reports the compressed size honestly", async () => {
    const v = await variant("prune", [{ prune: { sparsity: "50%" } }]);
    const stats = v.record.passes[0]!.stats as { zeros: number; parameters: number; sparsity: number };
    expect(Math.abs(stats.sparsity - 0.5)).toBeLessThan(1e-3);
    const c = v.record.passes[0]!.compressed!;
    expect(c.after).toBeLessThan(c.before * 0.8);
    // dense: the file is as large as before
    expect(Math.abs(v.record.output.bytes - v.record.source.bytes)).toBeLessThan(v.record.source.bytes * 0.01);
    expect(v.cmp.klDivergence).toBeLessThan(0.5);
    const global = await variant("prune-global", [{ prune: { sparsity: 0.3, scope: "global" } }]);
    expect(Math.abs((global.record.passes[0]!.stats as { sparsity: number }).sparsity - 0.3)).toBeLessThan(1e-3);
  }, 60_000);

  it("graph-optimize (extended) gives the same logits", async () => {
    const v = await variant("graph", [{ "graph-optimize": { level: "extended" } }]);
    expect(v.cmp.maxAbsDiff).toBeLessThan(1e-3);
    const stats = v.record.passes[0]!.stats as { nodesBefore: number; nodesAfter: number };
    expect(stats.nodesAfter).toBeLessThan(stats.nodesBefore);
  }, 60_000);

  it("chains passes in order and records each, with progress per tensor", async () => {
    const events: OptimizeProgress[] = [];
    const v = await variant(
      "chain",
      [{ quantize: { weights: "int4", method: "minimize-error" } }, { "graph-optimize": { level: "basic" } }],
      (p) => events.push(p),
    );
    expect(v.record.passes.map((p) => p.options.name)).toEqual(["quantize", "graph-optimize"]);
    for (const p of v.record.passes) expect(p.durationMs).toBeGreaterThan(0);
    expect(v.record.source.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(v.record.output.digest).not.toBe(v.record.source.digest);
    const tensorEvents = events.filter((e) => e.pass === 0 && e.tensor);
    expect(tensorEvents).toHaveLength(decoder.config.layers * 7 + 1);
    expect(tensorEvents.at(-1)!.done).toBe(tensorEvents.at(-1)!.total);
    expect(v.cmp.klDivergence).toBeLessThan(0.01);
  }, 60_000);
});
