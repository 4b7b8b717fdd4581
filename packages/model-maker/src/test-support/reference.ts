/**
 * An independent forward pass of a Llama-style decoder, written from the
 * math in plain TypeScript on Float64Array (no ONNX, no graph): the oracle
 * the ONNX model's logits are checked against.
 *
 *   h      = x / sqrt(mean(x²) + eps) · g                          (RMSNorm)
 *   q,k,v  = h Wq, h Wk, h Wv                                       (W stored [in, out])
 *   rope   : for i < d/2, θ = pos · theta^(−2i/d),
 *            (a, b) = (x_i, x_{i+d/2}) → (a cosθ − b sinθ, b cosθ + a sinθ)
 *   attn   = softmax_j(q·k_j / √d) over allowed j ≤ query index,
 *            query head h reads key/value head ⌊h / (heads / kvHeads)⌋
 *   x     += concat(heads) Wo
 *   x     += (silu(h2 Wg) ⊙ h2 Wu) Wd,  silu(z) = z / (1 + e^−z)
 *   logits = norm(x) Wlm,  Wlm = Eᵀ when tied
 */

export interface ReferenceConfig {
  readonly vocab: number;
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly intermediate: number;
  readonly tied: boolean;
  readonly ropeTheta: number;
  readonly rmsNormEps: number;
}

/** Weights by their Hugging Face names; matrices as [in, out] row-major, the embedding as [vocab, hidden]. */
export type ReferenceWeights = ReadonlyMap<string, Float64Array>;

/** Keys (after rotation) and values of one layer: [kvHeads][position] → vector of headDim. */
export interface LayerCache {
  readonly keys: Float64Array[][];
  readonly values: Float64Array[][];
}

export class ReferenceDecoder {
  readonly headDim: number;
  /** Per layer key/value cache of everything seen so far. */
  readonly cache: LayerCache[];
  /** Whether each cached position may be attended to (false = padding). */
  private readonly keep: boolean[] = [];

  constructor(
    private readonly config: ReferenceConfig,
    private readonly weights: ReferenceWeights,
  ) {
    this.headDim = config.hidden / config.heads;
    this.cache = Array.from({ length: config.layers }, () => ({
      keys: Array.from({ length: config.kvHeads }, () => []),
      values: Array.from({ length: config.kvHeads }, () => []),
    }));
  }

  private w(name: string): Float64Array {
    const found = this.weights.get(name);
    if (!found) throw new Error(`reference: missing weight ${name}`);
    return found;
  }

  /**
   * Feeds tokens (with their positions and whether each may be attended to)
   * after everything already cached; returns one row of logits per token.
   */
  step(tokens: readonly number[], positions: readonly number[], keep: readonly boolean[] = tokens.map(() => true)): Float64Array[] {
    const { hidden } = this.config;
    const logits: Float64Array[] = [];
    for (let t = 0; t < tokens.length; t++) {
      this.keep.push(keep[t] ?? true);
      const token = tokens[t] as number;
      let x: Float64Array = this.w("model.embed_tokens.weight").slice(token * hidden, (token + 1) * hidden);
      for (let layer = 0; layer < this.config.layers; layer++) {
        x = this.block(layer, x, positions[t] as number);
      }
      logits.push(this.head(x));
    }
    return logits;
  }

  private block(layer: number, x: Float64Array, position: number): Float64Array {
    const { heads, kvHeads, hidden, intermediate } = this.config;
    const d = this.headDim;
    const name = (module: string): string => `model.layers.${layer}.${module}.weight`;
    const h = rmsNorm(x, this.w(name("input_layernorm")), this.config.rmsNormEps);
    const q = matVec(h, this.w(name("self_attn.q_proj")), heads * d);
    const k = matVec(h, this.w(name("self_attn.k_proj")), kvHeads * d);
    const v = matVec(h, this.w(name("self_attn.v_proj")), kvHeads * d);
    const cache = this.cache[layer] as LayerCache;
    for (let kv = 0; kv < kvHeads; kv++) {
      (cache.keys[kv] as Float64Array[]).push(rope(k.slice(kv * d, (kv + 1) * d), position, this.config.ropeTheta));
      (cache.values[kv] as Float64Array[]).push(v.slice(kv * d, (kv + 1) * d));
    }
    const query = this.keep.length - 1;
    const attended = new Float64Array(heads * d);
    for (let head = 0; head < heads; head++) {
      const kv = Math.floor(head / (heads / kvHeads));
      const qh = rope(q.slice(head * d, (head + 1) * d), position, this.config.ropeTheta);
      const keys = cache.keys[kv] as Float64Array[];
      const values = cache.values[kv] as Float64Array[];
      const scores: number[] = [];
      const allowed: number[] = [];
      for (let j = 0; j <= query; j++) {
        if (!this.keep[j]) continue;
        scores.push(dot(qh, keys[j] as Float64Array) / Math.sqrt(d));
        allowed.push(j);
      }
      const probs = softmax(scores);
      for (let a = 0; a < allowed.length; a++) {
        const value = values[allowed[a] as number] as Float64Array;
        for (let i = 0; i < d; i++) attended[head * d + i] = (attended[head * d + i] as number) + (probs[a] as number) * (value[i] as number);
      }
    }
    const afterAttention = add(x, matVec(attended, this.w(name("self_attn.o_proj")), hidden));
    const h2 = rmsNorm(afterAttention, this.w(name("post_attention_layernorm")), this.config.rmsNormEps);
    const gate = matVec(h2, this.w(name("mlp.gate_proj")), intermediate);
    const up = matVec(h2, this.w(name("mlp.up_proj")), intermediate);
    const act = new Float64Array(intermediate);
    for (let i = 0; i < intermediate; i++) {
      const z = gate[i] as number;
      act[i] = (z / (1 + Math.exp(-z))) * (up[i] as number);
    }
    return add(afterAttention, matVec(act, this.w(name("mlp.down_proj")), hidden));
  }

  private head(x: Float64Array): Float64Array {
    const { vocab, hidden } = this.config;
    const normed = rmsNorm(x, this.w("model.norm.weight"), this.config.rmsNormEps);
    if (!this.config.tied) return matVec(normed, this.w("lm_head.weight"), vocab);
    const embedding = this.w("model.embed_tokens.weight");
    const out = new Float64Array(vocab);
    for (let t = 0; t < vocab; t++) {
      let s = 0;
      for (let i = 0; i < hidden; i++) s += (normed[i] as number) * (embedding[t * hidden + i] as number);
      out[t] = s;
    }
    return out;
  }
}

function rmsNorm(x: Float64Array, gain: Float64Array, eps: number): Float64Array {
  let meanSquare = 0;
  for (const value of x) meanSquare += value * value;
  meanSquare /= x.length;
  const scale = 1 / Math.sqrt(meanSquare + eps);
  return x.map((value, i) => value * scale * (gain[i] as number));
}

/** x [in] times W [in, out] (row-major). */
function matVec(x: Float64Array, w: Float64Array, out: number): Float64Array {
  const y = new Float64Array(out);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] as number;
    const row = i * out;
    for (let o = 0; o < out; o++) y[o] = (y[o] as number) + xi * (w[row + o] as number);
  }
  return y;
}

function rope(x: Float64Array, position: number, theta: number): Float64Array {
  const d = x.length;
  const half = d / 2;
  const out = new Float64Array(d);
  for (let i = 0; i < half; i++) {
    const angle = position * Math.pow(theta, (-2 * i) / d);
    const a = x[i] as number;
    const b = x[i + half] as number;
    out[i] = a * Math.cos(angle) - b * Math.sin(angle);
    out[i + half] = b * Math.cos(angle) + a * Math.sin(angle);
  }
  return out;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function softmax(scores: readonly number[]): number[] {
  const max = Math.max(...scores);
  const exps = scores.map((s) => Math.exp(s - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((value, i) => value + (b[i] as number));
}
