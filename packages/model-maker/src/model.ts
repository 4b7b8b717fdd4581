/**
 * The Llama-style decoder as an ONNX graph: token embedding, N blocks of
 * RMSNorm → grouped-query attention with rotary positions and a causal mask →
 * residual → RMSNorm → SwiGLU MLP → residual, then a final RMSNorm and the LM
 * head. Standard operators only (opset 17), inputs and outputs named as
 * Hugging Face Optimum exports them, MatMul weights as [in, out] initializers.
 */
import type { ModelProto } from "@slmops/onnx";
import { headDim, type ModelConfig } from "./config.js";
import { BOOL, FLOAT, GraphBuilder, INT64, tensorProto, valueInfo } from "./graph-builder.js";
import { EMBED_TOKENS, FINAL_NORM, LM_HEAD, layerWeightName, makeWeights, weightCount, type Weight } from "./weights.js";

export const OPSET = 17;
export const IR_VERSION = 8;
/** Changes whenever the maker would write different bytes for the same config. */
export const MAKER_FORMAT = "1";

/** Symbolic dimension names, as Optimum writes them. */
export const DIM = {
  batch: "batch_size",
  sequence: "sequence_length",
  past: "past_sequence_length",
  total: "past_sequence_length + sequence_length",
} as const;

/** Progress of a long step: `done` of `total` units of `phase`. */
export interface Progress {
  readonly phase: "weights" | "tokenizer" | "eval" | "encode" | "write";
  readonly done: number;
  readonly total: number;
}

export type ProgressCallback = (progress: Progress) => void;

export interface MakeModelOptions {
  /** Called after each weight tensor is made. */
  readonly onProgress?: ProgressCallback;
}

/** Input names of a decoder with `layers` blocks, in order. */
export function decoderInputNames(layers: number): string[] {
  const names = ["input_ids", "attention_mask", "position_ids"];
  for (let i = 0; i < layers; i++) names.push(`past_key_values.${i}.key`, `past_key_values.${i}.value`);
  return names;
}

/** Output names of a decoder with `layers` blocks, in order. */
export function decoderOutputNames(layers: number): string[] {
  const names = ["logits"];
  for (let i = 0; i < layers; i++) names.push(`present.${i}.key`, `present.${i}.value`);
  return names;
}

/** Inverse rotary frequencies 1 / theta^(2i/d), i < d/2 (as Llama computes them). */
export function ropeInverseFrequencies(theta: number, dim: number): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) out[i] = 1 / Math.pow(theta, (2 * i) / dim);
  return out;
}

/** Builds the decoder for `config` as an in-memory ONNX model. */
export function makeModel(config: ModelConfig, options: MakeModelOptions = {}): ModelProto {
  const g = new GraphBuilder();
  const d = headDim(config);
  const weights = new Map<string, string>();
  const total = weightCount(config);
  let done = 0;
  for (const w of makeWeights(config)) {
    weights.set(w.name, g.initializer(tensorProto(w.name, FLOAT, w.dims, (w as Weight).data)));
    options.onProgress?.({ phase: "weights", done: ++done, total });
  }
  const weight = (name: string): string => {
    const found = weights.get(name);
    if (found === undefined) throw new Error(`internal: no weight ${name}`);
    return found;
  };

  // Embedding.
  let x = g.op1("Gather", "/model/embed_tokens/Gather", [weight(EMBED_TOKENS), "input_ids"]);

  // Rotary tables from position_ids: cos/sin of [B, 1, S, d], rotate-half layout.
  const invFreq = g.initializer(tensorProto("model.rotary_emb.inv_freq", FLOAT, [d / 2], ropeInverseFrequencies(config.ropeTheta, d)));
  const positions = g.op1("Cast", "/model/rotary_emb/Cast", ["position_ids"], { to: FLOAT });
  const positionsCol = g.op1("Unsqueeze", "/model/rotary_emb/Unsqueeze", [positions, g.int64([-1])]);
  const freqs = g.op1("Mul", "/model/rotary_emb/Mul", [positionsCol, invFreq]);
  const angles = g.op1("Concat", "/model/rotary_emb/Concat", [freqs, freqs], { axis: -1 });
  const cos = g.op1("Unsqueeze", "/model/rotary_emb/Unsqueeze_cos", [g.op1("Cos", "/model/rotary_emb/Cos", [angles]), g.int64([1])]);
  const sin = g.op1("Unsqueeze", "/model/rotary_emb/Unsqueeze_sin", [g.op1("Sin", "/model/rotary_emb/Sin", [angles]), g.int64([1])]);

  // Attention mask [B, 1, S, T]: causal (key position <= query position) and not padding.
  const one = g.int64([1], []);
  const zero = g.int64([0], []);
  const seqLen = g.op1("Gather", "/model/mask/Gather_seq", [g.op1("Shape", "/model/mask/Shape_ids", ["input_ids"]), one], { axis: 0 });
  const totalLen = g.op1("Gather", "/model/mask/Gather_total", [g.op1("Shape", "/model/mask/Shape_mask", ["attention_mask"]), one], { axis: 0 });
  const pastLen = g.op1("Sub", "/model/mask/Sub", [totalLen, seqLen]);
  const queryPos = g.op1("Range", "/model/mask/Range_query", [pastLen, totalLen, one]);
  const keyPos = g.op1("Range", "/model/mask/Range_key", [zero, totalLen, one]);
  const causal = g.op1("LessOrEqual", "/model/mask/LessOrEqual", [
    keyPos,
    g.op1("Unsqueeze", "/model/mask/Unsqueeze_query", [queryPos, g.int64([1])]),
  ]);
  const keep = g.op1("Unsqueeze", "/model/mask/Unsqueeze_keep", [
    g.op1("Cast", "/model/mask/Cast", ["attention_mask"], { to: BOOL }),
    g.int64([1, 2]),
  ]);
  // Masked scores are replaced (not added to), so a NaN or infinity at a masked
  // position, e.g. after a float16 conversion, never reaches the softmax.
  const allowed = g.op1("And", "/model/mask/And", [causal, keep]);
  const lowest = g.float([-3.4028234663852886e38]);

  const rmsNorm = (input: string, gain: string, prefix: string): string => {
    const squared = g.op1("Pow", `${prefix}/Pow`, [input, g.float([2])]);
    const mean = g.op1("ReduceMean", `${prefix}/ReduceMean`, [squared], { axes: [-1], keepdims: 1 });
    const denom = g.op1("Sqrt", `${prefix}/Sqrt`, [g.op1("Add", `${prefix}/Add`, [mean, g.float([config.rmsNormEps])])]);
    return g.op1("Mul", `${prefix}/Mul`, [g.op1("Div", `${prefix}/Div`, [input, denom]), gain]);
  };

  /** [B, S, heads*d] → [B, heads, S, d] */
  const splitHeads = (input: string, heads: number, prefix: string): string =>
    g.op1("Transpose", `${prefix}/Transpose`, [g.op1("Reshape", `${prefix}/Reshape`, [input, g.int64([0, 0, heads, d])])], {
      perm: [0, 2, 1, 3],
    });

  /** x * cos + rotate_half(x) * sin, rotate_half(x) = concat(-x2, x1). */
  const rotary = (input: string, prefix: string): string => {
    const [x1, x2] = g.op("Split", `${prefix}/Split`, [input, g.int64([d / 2, d / 2])], { axis: -1 }, 2) as [string, string];
    const rotated = g.op1("Concat", `${prefix}/Concat`, [g.op1("Neg", `${prefix}/Neg`, [x2]), x1], { axis: -1 });
    return g.op1("Add", `${prefix}/Add`, [
      g.op1("Mul", `${prefix}/Mul_cos`, [input, cos]),
      g.op1("Mul", `${prefix}/Mul_sin`, [rotated, sin]),
    ]);
  };

  const groups = config.heads / config.kvHeads;
  /** [B, kvHeads, T, d] → [B, heads, T, d], each key/value head shared by `groups` query heads. */
  const repeatKv = (input: string, prefix: string): string => {
    if (groups === 1) return input;
    const expanded = g.op1("Expand", `${prefix}/Expand`, [
      g.op1("Unsqueeze", `${prefix}/Unsqueeze`, [input, g.int64([2])]),
      g.int64([1, 1, groups, 1, 1]),
    ]);
    return g.op1("Reshape", `${prefix}/Reshape`, [expanded, g.int64([0, config.heads, -1, d])]);
  };

  for (let i = 0; i < config.layers; i++) {
    const p = `/model/layers.${i}`;
    const attnIn = rmsNorm(x, weight(layerWeightName(i, "input_layernorm")), `${p}/input_layernorm`);
    const project = (module: string): string =>
      g.op1("MatMul", `${p}/self_attn/${module}/MatMul`, [attnIn, weight(layerWeightName(i, `self_attn.${module}`))]);
    const q = rotary(splitHeads(project("q_proj"), config.heads, `${p}/self_attn/q`), `${p}/self_attn/q_rotary`);
    const k = rotary(splitHeads(project("k_proj"), config.kvHeads, `${p}/self_attn/k`), `${p}/self_attn/k_rotary`);
    const v = splitHeads(project("v_proj"), config.kvHeads, `${p}/self_attn/v`);
    const [presentKey] = g.op("Concat", `${p}/self_attn/Concat_key`, [`past_key_values.${i}.key`, k], { axis: 2 }, [`present.${i}.key`]);
    const [presentValue] = g.op("Concat", `${p}/self_attn/Concat_value`, [`past_key_values.${i}.value`, v], { axis: 2 }, [
      `present.${i}.value`,
    ]);
    const keys = repeatKv(presentKey as string, `${p}/self_attn/repeat_key`);
    const values = repeatKv(presentValue as string, `${p}/self_attn/repeat_value`);
    const keysT = g.op1("Transpose", `${p}/self_attn/Transpose_key`, [keys], { perm: [0, 1, 3, 2] });
    const scores = g.op1("Mul", `${p}/self_attn/Mul_scale`, [
      g.op1("MatMul", `${p}/self_attn/MatMul_scores`, [q, keysT]),
      g.float([1 / Math.sqrt(d)]),
    ]);
    const masked = g.op1("Where", `${p}/self_attn/Where_mask`, [allowed, scores, lowest]);
    const probs = g.op1("Softmax", `${p}/self_attn/Softmax`, [masked], { axis: -1 });
    const context = g.op1("MatMul", `${p}/self_attn/MatMul_context`, [probs, values]);
    const merged = g.op1("Reshape", `${p}/self_attn/Reshape_context`, [
      g.op1("Transpose", `${p}/self_attn/Transpose_context`, [context], { perm: [0, 2, 1, 3] }),
      g.int64([0, 0, config.heads * d]),
    ]);
    const attnOut = g.op1("MatMul", `${p}/self_attn/o_proj/MatMul`, [merged, weight(layerWeightName(i, "self_attn.o_proj"))]);
    x = g.op1("Add", `${p}/Add_attention`, [x, attnOut]);

    const mlpIn = rmsNorm(x, weight(layerWeightName(i, "post_attention_layernorm")), `${p}/post_attention_layernorm`);
    const gate = g.op1("MatMul", `${p}/mlp/gate_proj/MatMul`, [mlpIn, weight(layerWeightName(i, "mlp.gate_proj"))]);
    const up = g.op1("MatMul", `${p}/mlp/up_proj/MatMul`, [mlpIn, weight(layerWeightName(i, "mlp.up_proj"))]);
    const silu = g.op1("Mul", `${p}/mlp/act_fn/Mul`, [gate, g.op1("Sigmoid", `${p}/mlp/act_fn/Sigmoid`, [gate])]);
    const hiddenAct = g.op1("Mul", `${p}/mlp/Mul`, [silu, up]);
    const down = g.op1("MatMul", `${p}/mlp/down_proj/MatMul`, [hiddenAct, weight(layerWeightName(i, "mlp.down_proj"))]);
    x = g.op1("Add", `${p}/Add_mlp`, [x, down]);
  }

  const final = rmsNorm(x, weight(FINAL_NORM), "/model/norm");
  g.op("MatMul", "/lm_head/MatMul", [final, weight(LM_HEAD)], {}, ["logits"]);

  const inputs = [
    valueInfo("input_ids", INT64, [DIM.batch, DIM.sequence]),
    valueInfo("attention_mask", INT64, [DIM.batch, DIM.total]),
    valueInfo("position_ids", INT64, [DIM.batch, DIM.sequence]),
  ];
  const outputs = [valueInfo("logits", FLOAT, [DIM.batch, DIM.sequence, config.vocab])];
  for (let i = 0; i < config.layers; i++) {
    for (const kind of ["key", "value"]) {
      inputs.push(valueInfo(`past_key_values.${i}.${kind}`, FLOAT, [DIM.batch, config.kvHeads, DIM.past, d]));
      outputs.push(valueInfo(`present.${i}.${kind}`, FLOAT, [DIM.batch, config.kvHeads, DIM.total, d]));
    }
  }

  return {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: OPSET }],
    producerName: "slmops-model-maker",
    producerVersion: MAKER_FORMAT,
    docString: "A Llama-style decoder with deterministic seeded weights, made by slmops make-model.",
    graph: {
      node: g.nodes,
      name: "main_graph",
      initializer: g.initializers,
      sparseInitializer: [],
      input: inputs,
      output: outputs,
      valueInfo: [],
      quantizationAnnotation: [],
      metadataProps: [],
    },
    metadataProps: [{ key: "slmops.model-maker.config", value: JSON.stringify(config) }],
    trainingInfo: [],
    functions: [],
    configuration: [],
  };
}
