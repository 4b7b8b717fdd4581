/**
 * Deterministic weights at the scales real checkpoints start from: linear
 * layers and embeddings drawn from normal(0, initStd) (Hugging Face's
 * `initializer_range`), the projections that write into the residual stream
 * (o_proj, down_proj) scaled down by sqrt(2 * layers) as GPT-2 does, and
 * RMSNorm gains near 1. Every tensor has its own random stream keyed by its
 * name, so its values do not depend on the order tensors are made in.
 */
import { fitBigram } from "./bigram-fit.js";
import { headDim, type ModelConfig } from "./config.js";
import { Random } from "./random.js";

/** One float32 weight as stored in the ONNX file: MatMul weights are [in, out]. */
export interface Weight {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/** The names a layer's weights use, following the Hugging Face Llama module paths. */
export function layerWeightName(layer: number, module: string): string {
  return `model.layers.${layer}.${module}.weight`;
}

export const EMBED_TOKENS = "model.embed_tokens.weight";
export const FINAL_NORM = "model.norm.weight";
export const LM_HEAD = "lm_head.weight";

function normal(name: string, dims: readonly number[], seed: number, mean: number, std: number): Weight {
  const random = new Random(seed, name);
  const size = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  random.fillNormal(data, mean, std);
  return { name, dims, data };
}

/** Number of weights {@link makeWeights} yields, for progress reporting. */
export function weightCount(config: ModelConfig): number {
  return 3 + 9 * config.layers;
}

/**
 * Yields every weight of the model in graph order: the embedding, each
 * layer's norms and projections, the final norm and the LM head. A tied LM head
 * holds exactly the transposed embedding values.
 */
export function* makeWeights(config: ModelConfig): Generator<Weight> {
  const { hidden, vocab, intermediate, seed, initStd } = config;
  const d = headDim(config);
  const residualStd = initStd / Math.sqrt(2 * config.layers);
  const normStd = 0.05;

  const finalNorm = normal(FINAL_NORM, [hidden], seed, 1, normStd);
  const fitted = config.fit === "bigram" ? fitBigram(config, finalNorm.data) : undefined;
  const embedding = fitted
    ? { name: EMBED_TOKENS, dims: [vocab, hidden], data: fitted.embedding }
    : normal(EMBED_TOKENS, [vocab, hidden], seed, 0, initStd);
  yield embedding;
  for (let i = 0; i < config.layers; i++) {
    yield normal(layerWeightName(i, "input_layernorm"), [hidden], seed, 1, normStd);
    yield normal(layerWeightName(i, "self_attn.q_proj"), [hidden, config.heads * d], seed, 0, initStd);
    yield normal(layerWeightName(i, "self_attn.k_proj"), [hidden, config.kvHeads * d], seed, 0, initStd);
    yield normal(layerWeightName(i, "self_attn.v_proj"), [hidden, config.kvHeads * d], seed, 0, initStd);
    yield normal(layerWeightName(i, "self_attn.o_proj"), [config.heads * d, hidden], seed, 0, residualStd);
    yield normal(layerWeightName(i, "post_attention_layernorm"), [hidden], seed, 1, normStd);
    yield normal(layerWeightName(i, "mlp.gate_proj"), [hidden, intermediate], seed, 0, initStd);
    yield normal(layerWeightName(i, "mlp.up_proj"), [hidden, intermediate], seed, 0, initStd);
    yield normal(layerWeightName(i, "mlp.down_proj"), [intermediate, hidden], seed, 0, residualStd);
  }
  yield finalNorm;
  if (fitted) {
    yield { name: LM_HEAD, dims: [hidden, vocab], data: fitted.head };
  } else if (config.tied) {
    const head = new Float32Array(hidden * vocab);
    const e = embedding.data;
    for (let v = 0; v < vocab; v++) {
      for (let h = 0; h < hidden; h++) head[h * vocab + v] = e[v * hidden + h] as number;
    }
    yield { name: LM_HEAD, dims: [hidden, vocab], data: head };
  } else {
    yield normal(LM_HEAD, [hidden, vocab], seed, 0, initStd);
  }
}
