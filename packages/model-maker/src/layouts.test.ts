/**
 * The exporters' graph layouts (model.ts): Optimum's merged decoder and ONNX
 * Runtime GenAI's builder output compute what the plain layout computes —
 * itself checked against a float64 reference in model.test.ts — on a prompt
 * and on the tokens after it with the cache, within 1e-4 of every logit and
 * cached value.
 */
import { encodeModel, type ModelProto } from "@slmops/onnx";
import { createSession, decoderFeeds, detectDecoder, emptyCache, nextCache, type TensorData } from "@slmops/runtime";
import { describe, expect, it } from "vitest";
import { PRESETS, resolveConfig } from "./config.js";
import { decoderInputNames, genaiConfig, makeModel, type GraphLayout } from "./model.js";
import { LM_HEAD, layerWeightName } from "./weights.js";

const TOLERANCE = 1e-4;
const config = resolveConfig({ vocab: 400, hidden: 64, layers: 3, heads: 4, kvHeads: 2, intermediate: 96, tied: false, seed: 21, initStd: 0.2 });
const PROMPT = [0, 17, 250, 5, 99, 211, 42];
const NEXT = [[7], [301, 2]];

/** Logits and presents of a prompt and of each later chunk, fed through the decoder convention. */
async function run(model: ModelProto): Promise<Record<string, TensorData>[]> {
  const session = await createSession(encodeModel(model));
  try {
    const layout = detectDecoder(session)!;
    const outs: Record<string, TensorData>[] = [];
    let cache = emptyCache(layout);
    let past = 0;
    for (const chunk of [PROMPT, ...NEXT]) {
      const out = await session.run(decoderFeeds(layout, chunk, past, cache));
      outs.push(out);
      cache = nextCache(layout, out);
      past += chunk.length;
    }
    return outs;
  } finally {
    await session.release();
  }
}

function maxDifference(a: TensorData, b: TensorData): number {
  expect(b.dims).toEqual(a.dims);
  let worst = 0;
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
  return worst;
}

describe.each(["optimum-merged", "genai"] as const)("the %s layout", (layout: GraphLayout) => {
  it("computes the plain layout's logits and cache, on the prompt and with the cache", async () => {
    const plain = await run(makeModel(config));
    const other = await run(makeModel(config, { layout }));
    plain.forEach((out, step) => {
      for (const name of Object.keys(out)) expect(maxDifference(out[name]!, other[step]![name]!), `${name} at step ${step}`).toBeLessThan(TOLERANCE);
    });
  });
});

describe("the layouts' structure", () => {
  it("merged: one If on use_cache_branch, branches that read the main graph's weights and hold none", () => {
    const model = makeModel(config, { layout: "optimum-merged" });
    const graph = model.graph!;
    expect(graph.input.map((i) => i.name)).toEqual(decoderInputNames(config.layers, "optimum-merged"));
    expect(graph.node.map((n) => n.opType)).toEqual(["If"]);
    const weights = new Set(graph.initializer.map((t) => t.name));
    expect(weights.has(LM_HEAD) && weights.has(layerWeightName(0, "self_attn.q_proj"))).toBe(true);
    const branches = graph.node[0]!.attribute.map((a) => [a.name, a.g!] as const);
    expect(branches.map(([name]) => name)).toEqual(["then_branch", "else_branch"]);
    for (const [name, branch] of branches) {
      // Only small constants in the branches; every MatMul weight comes from the main graph, the same names in both.
      expect(branch.initializer.every((t) => t.dims.reduce((a, b) => a * b, 1) <= 16), name).toBe(true);
      const matmulWeights = branch.node.filter((n) => n.opType === "MatMul" && weights.has(n.input[1]!)).map((n) => n.input[1]);
      expect(matmulWeights.length, name).toBe(config.layers * 7 + 1);
    }
    const reads = (i: number) => branches[i]![1].node.some((n) => n.input.includes("past_key_values.0.key"));
    expect([reads(0), reads(1)]).toEqual([true, false]);
  });

  it("genai: GroupQueryAttention per block, no position_ids, and a genai_config.json that describes it", () => {
    const model = makeModel(config, { layout: "genai" });
    expect(model.graph!.input.map((i) => i.name)).not.toContain("position_ids");
    const gqa = model.graph!.node.filter((n) => n.opType === "GroupQueryAttention");
    expect(gqa.length).toBe(config.layers);
    expect(gqa.every((n) => n.domain === "com.microsoft")).toBe(true);
    expect(model.opsetImport).toContainEqual({ domain: "com.microsoft", version: 1 });
    const json = JSON.parse(genaiConfig(config)) as { model: { decoder: Record<string, unknown>; vocab_size: number; context_length: number } };
    expect(json.model.decoder).toMatchObject({ filename: "model.onnx", head_size: 16, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 3 });
    expect(json.model.decoder.inputs).toEqual({ input_ids: "input_ids", attention_mask: "attention_mask", past_key_names: "past_key_values.%d.key", past_value_names: "past_key_values.%d.value" });
    expect([json.model.vocab_size, json.model.context_length]).toEqual([400, config.context]);
  });

  it("refuses a genai layout whose head size GroupQueryAttention cannot take", () => {
    expect(() => makeModel({ ...PRESETS.nano, hidden: 48, heads: 4 }, { layout: "genai" })).toThrow(/multiple of 16.*is 12/);
  });
});
