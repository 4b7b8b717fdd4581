import { decodeModel, encodeModel, tensorToArray } from "@slmops/onnx";
import { describe, expect, it } from "vitest";
import { PRESETS, parameterCount, resolveConfig } from "./config.js";
import { OPSET, makeModel } from "./model.js";
import { makeWeights } from "./weights.js";

const STANDARD_OPS = new Set([
  "Add", "And", "Cast", "Concat", "Cos", "Div", "Expand", "Gather", "LessOrEqual", "MatMul", "Mul", "Neg", "Pow",
  "Range", "ReduceMean", "Reshape", "Shape", "Sigmoid", "Sin", "Softmax", "Split", "Sqrt", "Sub", "Transpose",
  "Unsqueeze", "Where",
]);

describe("the decoder graph", () => {
  const config = resolveConfig({ preset: "nano", tied: false });
  const model = decodeModel(encodeModel(makeModel(config)));
  const graph = model.graph!;
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]));

  it("uses only standard ONNX operators at opset 17", () => {
    expect(model.opsetImport).toEqual([{ domain: "", version: OPSET }]);
    expect(OPSET).toBeGreaterThanOrEqual(17);
    for (const node of graph.node) {
      expect(node.domain ?? "").toBe("");
      expect(STANDARD_OPS).toContain(node.opType);
    }
  });

  it("keeps every projection as a MatMul on an [in, out] initializer named like the Hugging Face module", () => {
    const d = config.hidden / config.heads;
    const expected: Record<string, [number, number]> = {
      "self_attn.q_proj": [config.hidden, config.heads * d],
      "self_attn.k_proj": [config.hidden, config.kvHeads * d],
      "self_attn.v_proj": [config.hidden, config.kvHeads * d],
      "self_attn.o_proj": [config.heads * d, config.hidden],
      "mlp.gate_proj": [config.hidden, config.intermediate],
      "mlp.up_proj": [config.hidden, config.intermediate],
      "mlp.down_proj": [config.intermediate, config.hidden],
    };
    const weighted = graph.node.filter((n) => n.opType === "MatMul" && initializers.has(n.input[1]));
    expect(weighted).toHaveLength(7 * config.layers + 1);
    for (let i = 0; i < config.layers; i++) {
      for (const [module, dims] of Object.entries(expected)) {
        const name = `model.layers.${i}.${module}.weight`;
        expect(initializers.get(name)?.dims, name).toEqual(dims);
        expect(weighted.some((n) => n.input[1] === name && n.name === `/model/layers.${i}/${module.replace(".", "/")}/MatMul`)).toBe(true);
      }
    }
    expect(initializers.get("lm_head.weight")?.dims).toEqual([config.hidden, config.vocab]);
    expect(initializers.get("model.embed_tokens.weight")?.dims).toEqual([config.vocab, config.hidden]);
  });

  it("stores exactly as many weights as the parameter count says", () => {
    let stored = 0;
    for (const t of graph.initializer) {
      if (t.name?.startsWith("model.layers.") || t.name === "model.embed_tokens.weight" || t.name === "model.norm.weight" || t.name === "lm_head.weight") {
        stored += t.dims.reduce((a, b) => a * b, 1);
      }
    }
    expect(stored).toBe(parameterCount(config));
  });
});

describe("weights", () => {
  const stats = (data: Float32Array) => {
    let sum = 0;
    let squares = 0;
    for (const v of data) {
      sum += v;
      squares += v * v;
    }
    const mean = sum / data.length;
    return { mean, std: Math.sqrt(squares / data.length - mean * mean) };
  };
  const config = resolveConfig({ preset: "tiny" });
  const weights = new Map([...makeWeights(config)].map((w) => [w.name, w]));

  it("start at realistic scales: normal(0, 0.02), residual outputs scaled by 1/sqrt(2·layers), norms near 1", () => {
    const q = stats(weights.get("model.layers.0.self_attn.q_proj.weight")!.data);
    expect(Math.abs(q.mean)).toBeLessThan(0.001);
    expect(q.std).toBeCloseTo(0.02, 3);
    const down = stats(weights.get("model.layers.1.mlp.down_proj.weight")!.data);
    expect(down.std).toBeCloseTo(0.02 / Math.sqrt(2 * config.layers), 3);
    const norm = stats(weights.get("model.layers.0.input_layernorm.weight")!.data);
    expect(norm.mean).toBeGreaterThan(0.98);
    expect(norm.mean).toBeLessThan(1.02);
    expect(norm.std).toBeGreaterThan(0.03);
    expect(norm.std).toBeLessThan(0.07);
  });

  it("tie the LM head to the embedding by storing exactly its transpose", () => {
    const embedding = weights.get("model.embed_tokens.weight")!.data;
    const head = weights.get("lm_head.weight")!.data;
    for (const [v, h] of [[0, 0], [5, 17], [config.vocab - 1, config.hidden - 1]] as const) {
      expect(head[h * config.vocab + v]).toBe(embedding[v * config.hidden + h]);
    }
    const untied = new Map([...makeWeights({ ...config, tied: false })].map((w) => [w.name, w]));
    expect(untied.get("lm_head.weight")!.data[5 * config.vocab + 17]).not.toBe(embedding[17 * config.hidden + 5]);
  });

  it("do not depend on how many layers follow (each tensor has its own stream)", () => {
    const deeper = new Map([...makeWeights({ ...config, layers: config.layers + 2 })].map((w) => [w.name, w]));
    expect(deeper.get("model.layers.1.mlp.up_proj.weight")!.data).toEqual(weights.get("model.layers.1.mlp.up_proj.weight")!.data);
  });
});

describe("determinism", () => {
  it("writes byte-identical models for the same config and different ones for another seed", () => {
    const config = PRESETS.nano;
    const a = encodeModel(makeModel(config));
    const b = encodeModel(makeModel(config));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const c = encodeModel(makeModel({ ...config, seed: config.seed + 1 }));
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });

  it("records the configuration in the model's metadata", () => {
    const model = decodeModel(encodeModel(makeModel(PRESETS.nano)));
    const entry = model.metadataProps.find((p) => p.key === "slmops.model-maker.config");
    expect(JSON.parse(entry?.value ?? "null")).toEqual(PRESETS.nano);
    const invFreq = model.graph?.initializer.find((t) => t.name === "model.rotary_emb.inv_freq");
    const values = Array.from(tensorToArray(invFreq!) as Float32Array);
    expect(values[0]).toBe(1);
    expect(values[1]).toBeCloseTo(1 / Math.pow(10000, 2 / 16), 7);
  });
});
