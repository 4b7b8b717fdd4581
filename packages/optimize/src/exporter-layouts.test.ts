/**
 * The passes on the layouts the common exporters write — Optimum's merged
 * decoder (an `If` on `use_cache_branch`, weights shared by both branches,
 * external data) and ONNX Runtime GenAI's builder output
 * (`GroupQueryAttention`, no `position_ids`) — give the outputs they give on
 * the plain layout of the same model, within each pass's tolerance, on a
 * prompt (the merged decoder's no-cache branch) and on the next token (its
 * cache branch).
 */
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeModel, resolveConfig, type GraphLayout } from "@slmops/model-maker";
import { writeModel, type ModelProto } from "@slmops/onnx";
import { createSession, decoderFeeds, detectDecoder, emptyCache, nextCache } from "@slmops/runtime";
import { fromFloat16Bits } from "./float16.js";
import { allGraphs } from "./graph.js";
import { mergedDecoderBranches } from "./merged-decoder.js";
import { loadModel } from "./model-io.js";
import type { PassSpec } from "./pass-options.js";
import { optimizeModel } from "./pipeline.js";
import { tokens } from "./test-support/decoder.js";

const config = resolveConfig({ preset: "nano", seed: 3, tied: false, fit: "bigram" });
const LAYOUTS: readonly GraphLayout[] = ["plain", "optimum-merged", "genai"];
const PROMPT = tokens(24, config.vocab, 11);
const NEXT = [PROMPT[3]!, PROMPT[9]!];
const CALIBRATION = Array.from({ length: 8 }, (_, i) => tokens(64, config.vocab, 100 + i));

let dir: string;
const sources = new Map<GraphLayout, string>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-layouts-"));
  for (const layout of LAYOUTS) {
    const path = join(dir, layout, layout === "optimum-merged" ? "decoder_model_merged.onnx" : "model.onnx");
    await mkdir(join(dir, layout));
    // The merged decoder keeps its weights in external data, as Optimum writes it.
    await writeModel(path, makeModel(config, { layout }), { externalData: layout === "optimum-merged" ? { location: "decoder_model_merged.onnx_data" } : false });
    sources.set(layout, path);
  }
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Logits of a prompt, then of two more tokens with the cache, through the decoder convention. */
async function logits(path: string): Promise<Float32Array[]> {
  const session = await createSession(path);
  try {
    const layout = detectDecoder(session)!;
    const first = await session.run(decoderFeeds(layout, PROMPT, 0, emptyCache(layout)));
    const second = await session.run(decoderFeeds(layout, NEXT, PROMPT.length, nextCache(layout, first)));
    return [first, second].map((o) => {
      const l = o.logits!;
      return l.type === "float32" ? (l.data as Float32Array) : Float32Array.from(l.data as Uint16Array, fromFloat16Bits);
    });
  } finally {
    await session.release();
  }
}

/** Largest |difference| over the RMS of the plain layout's logits. */
function relativeDifference(plain: readonly Float32Array[], other: readonly Float32Array[]): number {
  let worst = 0;
  let square = 0;
  let count = 0;
  plain.forEach((p, step) => {
    const o = other[step]!;
    expect(o.length).toBe(p.length);
    for (let i = 0; i < p.length; i++) {
      worst = Math.max(worst, Math.abs(p[i]! - o[i]!));
      square += p[i]! * p[i]!;
      count++;
    }
  });
  return worst / Math.sqrt(square / count);
}

/** Each pass, with the largest relative difference it may show between layouts. */
const PASSES: readonly { name: string; pass: PassSpec; tolerance: number }[] = [
  // Weight-only forms quantize the same weights to the same codes: only float rounding in attention differs.
  { name: "int4 rtn", pass: { quantize: { weights: "int4" } }, tolerance: 1e-4 },
  { name: "int4 minimize-error, 8-bit head", pass: { quantize: { weights: "int4", method: "minimize-error", overrides: [{ nodes: ["/lm_head/MatMul"], weights: "int8" }] } }, tolerance: 1e-4 },
  { name: "int4 gptq", pass: { quantize: { weights: "int4", method: "gptq" } }, tolerance: 1e-4 },
  { name: "int8", pass: { quantize: { weights: "int8" } }, tolerance: 1e-4 },
  // Activations rounded to 8 bits at run time: a last-bit difference can move one activation by a step.
  { name: "int8 dynamic", pass: { quantize: { weights: "int8", activations: "dynamic" } }, tolerance: 2e-2 },
  // fp16 computation: rounding differs with the order of operations in each attention.
  { name: "fp16", pass: { convert: { to: "fp16" } }, tolerance: 2e-2 },
  { name: "fp16, Softmax kept fp32, fp16 inputs and outputs", pass: { convert: { to: "fp16", "keep-ops": ["Softmax"], "keep-io-types": false } }, tolerance: 2e-2 },
  { name: "prune 50%", pass: { prune: { sparsity: "50%" } }, tolerance: 1e-4 },
  { name: "graph-optimize", pass: { "graph-optimize": {} }, tolerance: 1e-4 },
];

const quantizedTensors = (model: ModelProto) => new Set(allGraphs(model.graph!).flatMap((g) => g.node.filter((n) => n.opType === "MatMulNBits").map((n) => n.input[1]!)));

describe.each(PASSES)("$name on the exporters' layouts", ({ name, pass, tolerance }) => {
  it("gives the plain layout's outputs", async () => {
    const outputs = new Map<GraphLayout, Float32Array[]>();
    const models = new Map<GraphLayout, ModelProto>();
    for (const layout of LAYOUTS) {
      const record = await optimizeModel({
        source: sources.get(layout)!,
        outDir: join(dir, `${layout}-${name.replace(/[^a-z0-9]+/g, "-")}`),
        passes: [pass],
        kind: "decoder",
        calibration: { sequences: CALIBRATION, source: "calibration tokens" },
      });
      outputs.set(layout, await logits(record.output.path));
      models.set(layout, await loadModel(record.output.path));
      if (layout === "optimum-merged") {
        // Written as it was read: the model and its external data file.
        expect((await readdir(join(record.output.path, ".."))).sort()).toEqual(["model.onnx", "model.onnx.data"]);
      }
    }
    const plain = outputs.get("plain")!;
    for (const values of plain) expect(values.every(Number.isFinite)).toBe(true);
    for (const layout of ["optimum-merged", "genai"] as const) {
      expect(relativeDifference(plain, outputs.get(layout)!), `${name} on ${layout}`).toBeLessThan(tolerance);
    }
    const merged = models.get("optimum-merged")!;
    const branches = mergedDecoderBranches(merged);
    expect(branches, "still a merged decoder").toBeDefined();
    if (name.startsWith("fp16, Softmax")) {
      // Both branches keep Softmax in fp32 (each analysed on the fp32 graph before the shared weights were converted).
      for (const branch of [branches!.withPast, branches!.noPast]) {
        const produced = new Map(branch.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
        const softmaxes = branch.node.filter((n) => n.opType === "Softmax");
        expect(softmaxes.length).toBe(config.layers);
        for (const n of softmaxes) expect(produced.get(n.input[0]!)?.opType, branch.name).toBe("Cast");
      }
    }
    if (name.startsWith("int4") || name === "int8") {
      // A weight both branches read is quantized once: the same tensors as the plain model's, read by both branches.
      const perBranch = [branches!.withPast, branches!.noPast].map((g) => new Set(g.node.filter((n) => n.opType === "MatMulNBits").map((n) => n.input[1]!)));
      expect(quantizedTensors(merged).size).toBe(quantizedTensors(models.get("plain")!).size);
      expect([...perBranch[0]!].sort()).toEqual([...perBranch[1]!].sort());
      expect(merged.graph!.initializer.filter((t) => perBranch[0]!.has(t.name!)).length).toBe(perBranch[0]!.size);
    }
  }, 240_000);
});
