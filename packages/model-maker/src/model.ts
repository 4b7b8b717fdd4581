/**
 * The Llama-style decoder as an ONNX graph: token embedding, N blocks of
 * RMSNorm → grouped-query attention with rotary positions and a causal mask →
 * residual → RMSNorm → SwiGLU MLP → residual, then a final RMSNorm and the LM
 * head. Inputs and outputs named as Hugging Face Optimum exports them, MatMul
 * weights as [in, out] initializers, in one of three graph layouts:
 *
 * - `plain`: standard operators only (opset 17), one graph with the KV cache
 *   (Optimum's `decoder_with_past_model.onnx`, which also serves the prompt
 *   with an empty cache).
 * - `optimum-merged`: Optimum's `decoder_model_merged.onnx`. One `If` on the
 *   `use_cache_branch` input (bool, [1]) whose `then` branch reads the cache
 *   and whose `else` branch does not; both branches read the same weights
 *   from the main graph, and each carries its own small constants.
 * - `genai`: ONNX Runtime GenAI's model builder. Attention is one
 *   `com.microsoft` `GroupQueryAttention` per block (rotary inside it, from
 *   `cos_cache`/`sin_cache`; `seqlens_k` and `total_sequence_length` from
 *   the attention mask), so there is no `position_ids` input; a
 *   `genai_config.json` ({@link genaiConfig}) describes it.
 */
import { ConfigurationError } from "@slmops/diagnostics";
import type { GraphProto, ModelProto } from "@slmops/onnx";
import { headDim, type ModelConfig } from "./config.js";
import { BOOL, FLOAT, GraphBuilder, INT32, INT64, tensorProto, valueInfo } from "./graph-builder.js";
import { BOS_ID, EOS_ID } from "./tokenizer.js";
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

/** How the decoder's graph is laid out, as one exporter or another writes it (see the module comment). */
export type GraphLayout = "plain" | "optimum-merged" | "genai";
export const GRAPH_LAYOUTS: readonly GraphLayout[] = ["plain", "optimum-merged", "genai"];

/** The file name each layout's exporter gives the model. */
export const LAYOUT_FILE_NAMES: Readonly<Record<GraphLayout, string>> = {
  plain: "model.onnx",
  "optimum-merged": "decoder_model_merged.onnx",
  genai: "model.onnx",
};

export interface MakeModelOptions {
  /** Called after each weight tensor is made. */
  readonly onProgress?: ProgressCallback;
  /** Default `plain`. */
  readonly layout?: GraphLayout;
}

/** Input names of a decoder with `layers` blocks, in order. */
export function decoderInputNames(layers: number, layout: GraphLayout = "plain"): string[] {
  const names = layout === "genai" ? ["input_ids", "attention_mask"] : ["input_ids", "attention_mask", "position_ids"];
  for (let i = 0; i < layers; i++) names.push(`past_key_values.${i}.key`, `past_key_values.${i}.value`);
  if (layout === "optimum-merged") names.push("use_cache_branch");
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

/** What the body of the decoder reads from the graph around it. */
interface DecoderContext {
  readonly config: ModelConfig;
  /** The initializer name of a weight. */
  readonly weight: (name: string) => string;
  /** The rotary inverse frequencies (plain and merged layouts). */
  readonly invFreq: string;
  /** `cos_cache`, `sin_cache` (genai layout). */
  readonly rotaryCaches?: readonly [string, string];
}

/**
 * Adds the decoder's nodes to `g`, from `input_ids` (and the other inputs)
 * to the outputs `logits` and `present.{i}.key|value`. With `past: false`
 * the KV cache inputs are not read: the keys and values of this call are
 * the present (the no-cache branch of a merged decoder).
 */
function decoderBody(g: GraphBuilder, ctx: DecoderContext, options: { readonly past: boolean; readonly attention: "operators" | "group-query" }): void {
  const { config, weight } = ctx;

  // Embedding.
  let x = g.op1("Gather", "/model/embed_tokens/Gather", [weight(EMBED_TOKENS), "input_ids"]);

  const rmsNorm = (input: string, gain: string, prefix: string): string => {
    const squared = g.op1("Pow", `${prefix}/Pow`, [input, g.float([2])]);
    const mean = g.op1("ReduceMean", `${prefix}/ReduceMean`, [squared], { axes: [-1], keepdims: 1 });
    const denom = g.op1("Sqrt", `${prefix}/Sqrt`, [g.op1("Add", `${prefix}/Add`, [mean, g.float([config.rmsNormEps])])]);
    return g.op1("Mul", `${prefix}/Mul`, [g.op1("Div", `${prefix}/Div`, [input, denom]), gain]);
  };

  const attention =
    options.attention === "group-query" ? groupQueryAttention(g, ctx) : operatorAttention(g, ctx, options.past);

  for (let i = 0; i < config.layers; i++) {
    const p = `/model/layers.${i}`;
    const attnIn = rmsNorm(x, weight(layerWeightName(i, "input_layernorm")), `${p}/input_layernorm`);
    const project = (module: "q_proj" | "k_proj" | "v_proj"): string =>
      g.op1("MatMul", `${p}/self_attn/${module}/MatMul`, [attnIn, weight(layerWeightName(i, `self_attn.${module}`))]);
    const merged = attention(i, project);
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
}

/** One block's attention: makes its projections ([B, S, heads·d]) with `project`, returns the merged context [B, S, heads·d]. */
type Attention = (layer: number, project: (module: "q_proj" | "k_proj" | "v_proj") => string) => string;

/** Attention in standard operators: rotary from `position_ids`, a causal and padding mask, the cache concatenated (when read). */
function operatorAttention(g: GraphBuilder, ctx: DecoderContext, past: boolean): Attention {
  const { config } = ctx;
  const d = headDim(config);
  // Rotary tables from position_ids: cos/sin of [B, 1, S, d], rotate-half layout.
  const positions = g.op1("Cast", "/model/rotary_emb/Cast", ["position_ids"], { to: FLOAT });
  const positionsCol = g.op1("Unsqueeze", "/model/rotary_emb/Unsqueeze", [positions, g.int64([-1])]);
  const freqs = g.op1("Mul", "/model/rotary_emb/Mul", [positionsCol, ctx.invFreq]);
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

  return (i, project) => {
    const p = `/model/layers.${i}`;
    const q = rotary(splitHeads(project("q_proj"), config.heads, `${p}/self_attn/q`), `${p}/self_attn/q_rotary`);
    const k = rotary(splitHeads(project("k_proj"), config.kvHeads, `${p}/self_attn/k`), `${p}/self_attn/k_rotary`);
    const v = splitHeads(project("v_proj"), config.kvHeads, `${p}/self_attn/v`);
    let presentKey: string;
    let presentValue: string;
    if (past) {
      [presentKey] = g.op("Concat", `${p}/self_attn/Concat_key`, [`past_key_values.${i}.key`, k], { axis: 2 }, [`present.${i}.key`]) as [string];
      [presentValue] = g.op("Concat", `${p}/self_attn/Concat_value`, [`past_key_values.${i}.value`, v], { axis: 2 }, [`present.${i}.value`]) as [string];
    } else {
      [presentKey] = g.op("Identity", `${p}/self_attn/Identity_key`, [k], {}, [`present.${i}.key`]) as [string];
      [presentValue] = g.op("Identity", `${p}/self_attn/Identity_value`, [v], {}, [`present.${i}.value`]) as [string];
    }
    const keys = repeatKv(presentKey, `${p}/self_attn/repeat_key`);
    const values = repeatKv(presentValue, `${p}/self_attn/repeat_value`);
    const keysT = g.op1("Transpose", `${p}/self_attn/Transpose_key`, [keys], { perm: [0, 1, 3, 2] });
    const scores = g.op1("Mul", `${p}/self_attn/Mul_scale`, [
      g.op1("MatMul", `${p}/self_attn/MatMul_scores`, [q, keysT]),
      g.float([1 / Math.sqrt(d)]),
    ]);
    const masked = g.op1("Where", `${p}/self_attn/Where_mask`, [allowed, scores, lowest]);
    const probs = g.op1("Softmax", `${p}/self_attn/Softmax`, [masked], { axis: -1 });
    const context = g.op1("MatMul", `${p}/self_attn/MatMul_context`, [probs, values]);
    return g.op1("Reshape", `${p}/self_attn/Reshape_context`, [
      g.op1("Transpose", `${p}/self_attn/Transpose_context`, [context], { perm: [0, 2, 1, 3] }),
      g.int64([0, 0, config.heads * d]),
    ]);
  };
}

/**
 * Attention as ONNX Runtime GenAI's builder writes it: one
 * `GroupQueryAttention` per block, the rotary embedding inside it, and
 * `seqlens_k` (tokens seen minus one) and `total_sequence_length` (int32)
 * from the attention mask, as the builder's `attn_mask_reformat` subgraph
 * computes them.
 */
function groupQueryAttention(g: GraphBuilder, ctx: DecoderContext): Attention {
  const { config } = ctx;
  const [cosCache, sinCache] = ctx.rotaryCaches ?? [];
  if (cosCache === undefined || sinCache === undefined) throw new Error("internal: the genai layout needs its rotary caches");
  const prefix = "/model/attn_mask_reformat/attn_mask_subgraph";
  const summed = g.op1("ReduceSum", `${prefix}/ReduceSum`, ["attention_mask", g.int64([1])], { keepdims: 0 });
  const seqlensK = g.op1("Cast", `${prefix}/Sub/Cast`, [g.op1("Sub", `${prefix}/Sub`, [summed, g.int64([1], [])])], { to: INT32 });
  const total = g.op1("Gather", `${prefix}/Gather`, [g.op1("Shape", `${prefix}/Shape`, ["attention_mask"]), g.int64([1], [])], { axis: 0 });
  const totalLength = g.op1("Cast", `${prefix}/Gather/Cast`, [total], { to: INT32 });
  return (i, project) => {
    const [q, k, v] = [project("q_proj"), project("k_proj"), project("v_proj")];
    const p = `/model/layers.${i}/self_attn`;
    const [out] = g.op(
      "GroupQueryAttention",
      `${p}/GroupQueryAttention`,
      [q, k, v, `past_key_values.${i}.key`, `past_key_values.${i}.value`, seqlensK, totalLength, cosCache, sinCache],
      { num_heads: config.heads, kv_num_heads: config.kvHeads, do_rotary: 1, rotary_interleaved: 0, local_window_size: -1 },
      [`${p}/GroupQueryAttention_output_0`, `present.${i}.key`, `present.${i}.value`],
      MS_DOMAIN,
    );
    return out as string;
  };
}

const MS_DOMAIN = "com.microsoft";

/** cos and sin of position × inverse frequency, [context, d/2]: the rotary caches GroupQueryAttention reads. */
function rotaryCaches(config: ModelConfig): [Float32Array, Float32Array] {
  const d = headDim(config);
  const inv = ropeInverseFrequencies(config.ropeTheta, d);
  const cos = new Float32Array(config.context * (d / 2));
  const sin = new Float32Array(config.context * (d / 2));
  for (let p = 0; p < config.context; p++) {
    for (let j = 0; j < d / 2; j++) {
      // Angles as the operator graph computes them: float32 position times float32 frequency.
      const angle = Math.fround(p * inv[j]!);
      cos[p * (d / 2) + j] = Math.cos(angle);
      sin[p * (d / 2) + j] = Math.sin(angle);
    }
  }
  return [cos, sin];
}

/** Builds the decoder for `config` as an in-memory ONNX model, in the graph layout `options.layout` (default `plain`). */
export function makeModel(config: ModelConfig, options: MakeModelOptions = {}): ModelProto {
  const layout = options.layout ?? "plain";
  const g = new GraphBuilder();
  const d = headDim(config);
  if (layout === "genai" && d % 16 !== 0) {
    throw new ConfigurationError(
      `the genai layout's GroupQueryAttention needs a head size that is a multiple of 16 (ONNX Runtime's rotary caches), but --hidden ${config.hidden} / --heads ${config.heads} is ${d}; choose --hidden and --heads so that it is`,
    );
  }
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
  const invFreq = layout === "genai" ? "" : g.initializer(tensorProto("model.rotary_emb.inv_freq", FLOAT, [d / 2], ropeInverseFrequencies(config.ropeTheta, d)));
  let rotary: [string, string] | undefined;
  if (layout === "genai") {
    const [cos, sin] = rotaryCaches(config);
    rotary = [g.initializer(tensorProto("cos_cache", FLOAT, [config.context, d / 2], cos)), g.initializer(tensorProto("sin_cache", FLOAT, [config.context, d / 2], sin))];
  }
  const ctx: DecoderContext = { config, weight, invFreq, ...(rotary ? { rotaryCaches: rotary } : {}) };

  const inputs = [
    valueInfo("input_ids", INT64, [DIM.batch, DIM.sequence]),
    valueInfo("attention_mask", INT64, [DIM.batch, DIM.total]),
    ...(layout === "genai" ? [] : [valueInfo("position_ids", INT64, [DIM.batch, DIM.sequence])]),
  ];
  const outputs = [valueInfo("logits", FLOAT, [DIM.batch, DIM.sequence, config.vocab])];
  for (let i = 0; i < config.layers; i++) {
    for (const kind of ["key", "value"]) {
      inputs.push(valueInfo(`past_key_values.${i}.${kind}`, FLOAT, [DIM.batch, config.kvHeads, DIM.past, d]));
      outputs.push(valueInfo(`present.${i}.${kind}`, FLOAT, [DIM.batch, config.kvHeads, DIM.total, d]));
    }
  }

  if (layout === "optimum-merged") {
    const branch = (name: string, past: boolean): GraphProto => {
      const b = new GraphBuilder();
      decoderBody(b, ctx, { past, attention: "operators" });
      return b.graph(name, [], outputs);
    };
    g.op("If", "optimum::if", ["use_cache_branch"], { then_branch: branch("with_past", true), else_branch: branch("no_past", false) }, outputs.map((o) => o.name as string));
    inputs.push(valueInfo("use_cache_branch", BOOL, [1]));
  } else {
    decoderBody(g, ctx, { past: true, attention: layout === "genai" ? "group-query" : "operators" });
  }

  const opsetImport = [{ domain: "", version: OPSET }];
  if (layout === "genai") opsetImport.push({ domain: MS_DOMAIN, version: 1 });
  return {
    irVersion: IR_VERSION,
    opsetImport,
    producerName: "slmops-model-maker",
    producerVersion: MAKER_FORMAT,
    docString: `A Llama-style decoder with deterministic seeded weights, made by slmops make-model${layout === "plain" ? "" : ` (${layout} layout)`}.`,
    graph: g.graph("main_graph", inputs, outputs),
    metadataProps: [{ key: "slmops.model-maker.config", value: JSON.stringify(config) }],
    trainingInfo: [],
    functions: [],
    configuration: [],
  };
}

/**
 * The `genai_config.json` ONNX Runtime GenAI reads beside a `genai`-layout
 * model (`fileName`), with the keys its model builder writes.
 */
export function genaiConfig(config: ModelConfig, fileName = LAYOUT_FILE_NAMES.genai): string {
  const json = {
    model: {
      bos_token_id: BOS_ID,
      context_length: config.context,
      decoder: {
        session_options: { log_id: "onnxruntime-genai", provider_options: [] },
        filename: fileName,
        head_size: headDim(config),
        hidden_size: config.hidden,
        inputs: {
          input_ids: "input_ids",
          attention_mask: "attention_mask",
          past_key_names: "past_key_values.%d.key",
          past_value_names: "past_key_values.%d.value",
        },
        outputs: { logits: "logits", present_key_names: "present.%d.key", present_value_names: "present.%d.value" },
        num_attention_heads: config.heads,
        num_hidden_layers: config.layers,
        num_key_value_heads: config.kvHeads,
      },
      eos_token_id: EOS_ID,
      pad_token_id: EOS_ID,
      type: "llama",
      vocab_size: config.vocab,
    },
    search: {
      diversity_penalty: 0,
      do_sample: false,
      early_stopping: true,
      length_penalty: 1,
      max_length: config.context,
      min_length: 0,
      no_repeat_ngram_size: 0,
      num_beams: 1,
      num_return_sequences: 1,
      past_present_share_buffer: false,
      repetition_penalty: 1,
      temperature: 1,
      top_k: 1,
      top_p: 1,
    },
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}
