/**
 * Small real ONNX models written to disk for the tests: a decoder in the
 * Optimum layout (with a KV cache whose length changes its output), a plain
 * MatMul model, a model whose run always fails, and a model that never
 * finishes (a Loop with an astronomic trip count).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DataType, encodeModel, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo, writeModel } from "@slmops/onnx";
import type { ModelProto } from "@slmops/onnx";

/** Deterministic pseudo-random floats in [-scale, scale). */
export function seededFloats(seed: number, count: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

export interface DecoderShape {
  readonly vocab: number;
  readonly heads: number;
  readonly headDim: number;
  readonly layers: number;
  readonly maxPositions: number;
}

export const TINY_DECODER: DecoderShape = { vocab: 64, heads: 2, headDim: 8, layers: 2, maxPositions: 512 };

/**
 * A decoder with the Optimum inputs and outputs. Each layer's key/value are
 * projections of the token embedding appended to the cache; the logits mix
 * the embedding with the mean of every layer's cached keys, so the output
 * depends on the whole context and decode cost grows with it. `noise`
 * perturbs the output weights, as a quantized variant would.
 */
export function decoderModel(shape: DecoderShape = TINY_DECODER, noise = 0): ModelProto {
  const hidden = shape.heads * shape.headDim;
  const nodes = [
    makeNode("Gather", ["embed", "input_ids"], ["tok"], { axis: 0 }),
    makeNode("Gather", ["pos_embed", "position_ids"], ["pos"], { axis: 0 }),
    makeNode("Add", ["tok", "pos"], ["h0"]),
  ];
  const inits = [
    makeTensor("embed", DataType.FLOAT, [shape.vocab, hidden], seededFloats(1, shape.vocab * hidden)),
    makeTensor("pos_embed", DataType.FLOAT, [shape.maxPositions, hidden], seededFloats(2, shape.maxPositions * hidden, 0.1)),
    makeTensor("split_shape", DataType.INT64, [4], [0, 0, shape.heads, shape.headDim]),
    makeTensor("flat_shape", DataType.INT64, [3], [0, 1, hidden]),
  ];
  const inputs = [
    makeValueInfo("input_ids", DataType.INT64, ["batch_size", "sequence_length"]),
    makeValueInfo("attention_mask", DataType.INT64, ["batch_size", "total_sequence_length"]),
    makeValueInfo("position_ids", DataType.INT64, ["batch_size", "sequence_length"]),
  ];
  const outputs = [makeValueInfo("logits", DataType.FLOAT, ["batch_size", "sequence_length", shape.vocab])];
  let h = "h0";
  for (let l = 0; l < shape.layers; l++) {
    for (const kv of ["key", "value"] as const) {
      const w = `w_${kv}_${l}`;
      inits.push(makeTensor(w, DataType.FLOAT, [hidden, hidden], seededFloats(10 + l * 2 + (kv === "key" ? 0 : 1), hidden * hidden, 0.5)));
      nodes.push(
        makeNode("MatMul", [h, w], [`${kv}_proj_${l}`]),
        makeNode("Reshape", [`${kv}_proj_${l}`, "split_shape"], [`${kv}_split_${l}`]),
        makeNode("Transpose", [`${kv}_split_${l}`], [`${kv}_new_${l}`], { perm: [0, 2, 1, 3] }),
        makeNode("Concat", [`past_key_values.${l}.${kv}`, `${kv}_new_${l}`], [`present.${l}.${kv}`], { axis: 2 }),
      );
      inputs.push(makeValueInfo(`past_key_values.${l}.${kv}`, DataType.FLOAT, ["batch_size", shape.heads, "past_sequence_length", shape.headDim]));
      outputs.push(makeValueInfo(`present.${l}.${kv}`, DataType.FLOAT, ["batch_size", shape.heads, "total_sequence_length", shape.headDim]));
    }
    nodes.push(
      makeNode("ReduceMean", [`present.${l}.key`], [`ctx4_${l}`], { axes: [2], keepdims: 1 }),
      makeNode("Transpose", [`ctx4_${l}`], [`ctxT_${l}`], { perm: [0, 2, 1, 3] }),
      makeNode("Reshape", [`ctxT_${l}`, "flat_shape"], [`ctx_${l}`]),
      makeNode("Mul", [`value_proj_${l}`, `ctx_${l}`], [`mix_${l}`]),
      makeNode("Add", [h, `mix_${l}`], [`h${l + 1}`]),
    );
    h = `h${l + 1}`;
  }
  const out = seededFloats(3, hidden * shape.vocab);
  if (noise > 0) {
    const n = seededFloats(4, out.length, noise);
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + (n[i] as number);
  }
  inits.push(makeTensor("w_out", DataType.FLOAT, [hidden, shape.vocab], out));
  nodes.push(makeNode("MatMul", [h, "w_out"], ["logits"]));
  return makeModel({ graph: makeGraph(nodes, "tiny-decoder", inputs, outputs, inits) });
}

/** y = tanh(x · W1) · W2 with x [batch, n]; about 2·batch·n² multiply-adds per run. */
export function matmulModel(n = 256, batch = 16): ModelProto {
  return makeModel({
    graph: makeGraph(
      [makeNode("MatMul", ["x", "w1"], ["a"]), makeNode("Tanh", ["a"], ["b"]), makeNode("MatMul", ["b", "w2"], ["y"])],
      "matmul",
      [makeValueInfo("x", DataType.FLOAT, [batch, n])],
      [makeValueInfo("y", DataType.FLOAT, [batch, n])],
      [makeTensor("w1", DataType.FLOAT, [n, n], seededFloats(5, n * n, 0.1)), makeTensor("w2", DataType.FLOAT, [n, n], seededFloats(6, n * n, 0.1))],
    ),
  });
}

/** Loads fine; every run fails (a Reshape of one element into 21). */
export function failingModel(): ModelProto {
  return makeModel({
    graph: makeGraph(
      [makeNode("Reshape", ["x", "shape"], ["y"])],
      "failing",
      [makeValueInfo("x", DataType.FLOAT, ["n"])],
      [makeValueInfo("y", DataType.FLOAT, [7, 3])],
      [makeTensor("shape", DataType.INT64, [2], [7, 3])],
    ),
  });
}

/** Loads fine; a run never ends (a Loop of 2⁶² iterations). */
export function hangingModel(): ModelProto {
  const body = makeGraph(
    [makeNode("Identity", ["cond_in"], ["cond_out"]), makeNode("Add", ["v_in", "one"], ["v_out"])],
    "body",
    [makeValueInfo("i", DataType.INT64, []), makeValueInfo("cond_in", DataType.BOOL, []), makeValueInfo("v_in", DataType.FLOAT, [1])],
    [makeValueInfo("cond_out", DataType.BOOL, []), makeValueInfo("v_out", DataType.FLOAT, [1])],
    [makeTensor("one", DataType.FLOAT, [1], [1])],
  );
  return makeModel({
    graph: makeGraph(
      [makeNode("Loop", ["trips", "cond", "x"], ["y"], { body })],
      "hanging",
      [makeValueInfo("x", DataType.FLOAT, [1])],
      [makeValueInfo("y", DataType.FLOAT, [1])],
      [makeTensor("trips", DataType.INT64, [], [2n ** 62n]), makeTensor("cond", DataType.BOOL, [], [true])],
    ),
  });
}

/** Writes a model (inline weights) and returns its path. */
export async function saveModel(dir: string, name: string, model: ModelProto): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, encodeModel(model));
  return path;
}

/** Writes a model with its weights in an external data file beside it. */
export async function saveModelWithExternalData(dir: string, name: string, model: ModelProto): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeModel(path, model, { externalData: true });
  return path;
}
