/**
 * Optional "fit": instead of leaving the token embedding and LM head random,
 * set them so the model predicts its own story corpus like a bigram language
 * model. Perplexity on the eval set is then far below the vocabulary size,
 * so perplexity, KL divergence and top-1 agreement of optimized variants say
 * something about quality (a random model predicts an almost uniform
 * distribution, which every variant reproduces).
 *
 * How: count token bigrams over the tokenized training corpus, form
 * M[c, n] = log P(n | c) − mean_n log P(n | c) (add-α smoothing towards the
 * unigram distribution), and factor it to rank k by subspace iteration:
 * M ≈ Q (Qᵀ M) with Q orthonormal. Row c of the embedding holds Q[c] (scaled),
 * a constant "bias" coordinate and a coordinate that gives every row the same
 * RMS, so the final RMSNorm leaves the factorization intact; the LM head holds
 * Qᵀ M divided by the final norm's gains, and sends unused reserved tokens to
 * a logit of −30. The decoder blocks keep their random weights and add a
 * small perturbation to this path, as an untrained-but-plausible network would.
 */
import type { ModelConfig } from "./config.js";
import { trainingCorpus } from "./corpus.js";
import { Random } from "./random.js";
import { BYTE_TO_CHAR, trainByteLevelBpe, type TrainedTokenizer } from "./tokenizer.js";

/** Per-element RMS of a fitted embedding row. */
export const FIT_EMBEDDING_RMS = 0.5;
/** Logit of reserved tokens (never in the text) under a fitted head. */
const RESERVED_LOGIT = -30;
const MAX_RANK = 64;
const ITERATIONS = 6;
const SMOOTHING = 2;

const PRETOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const utf8 = new TextEncoder();

/** Token ids of `text` under `trained` (BPE by merge rank), without special tokens. */
export function encodeText(trained: TrainedTokenizer, text: string, cache = new Map<string, number[]>()): number[] {
  const ranks = rankMap(trained);
  const ids = idMap(trained);
  const out: number[] = [];
  for (const piece of text.match(PRETOKENIZE) ?? []) {
    let encoded = cache.get(piece);
    if (!encoded) {
      let symbols = Array.from(utf8.encode(piece), (b) => BYTE_TO_CHAR[b] as string);
      for (;;) {
        let best = -1;
        let bestRank = Infinity;
        for (let i = 0; i + 1 < symbols.length; i++) {
          const rank = ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
          if (rank !== undefined && rank < bestRank) {
            bestRank = rank;
            best = i;
          }
        }
        if (best < 0) break;
        const left = symbols[best] as string;
        const right = symbols[best + 1] as string;
        const merged: string[] = [];
        for (let i = 0; i < symbols.length; i++) {
          if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
            merged.push(left + right);
            i++;
          } else merged.push(symbols[i] as string);
        }
        symbols = merged;
      }
      encoded = symbols.map((s) => ids.get(s) as number);
      cache.set(piece, encoded);
    }
    out.push(...encoded);
  }
  return out;
}

const rankMaps = new WeakMap<TrainedTokenizer, Map<string, number>>();
const idMaps = new WeakMap<TrainedTokenizer, Map<string, number>>();

function rankMap(trained: TrainedTokenizer): Map<string, number> {
  let map = rankMaps.get(trained);
  if (!map) rankMaps.set(trained, (map = new Map(trained.merges.map(([a, b], i) => [`${a} ${b}`, i]))));
  return map;
}

function idMap(trained: TrainedTokenizer): Map<string, number> {
  let map = idMaps.get(trained);
  if (!map) idMaps.set(trained, (map = new Map(trained.tokens.map((t, i) => [t, i]))));
  return map;
}

/** M[c, n] for c, n below `real`, row-major, rows centred. */
function bigramLogits(sequences: readonly number[][], real: number): Float64Array {
  const counts = new Float64Array(real * real);
  const rowTotals = new Float64Array(real);
  const unigram = new Float64Array(real);
  let total = 0;
  for (const seq of sequences) {
    for (let i = 0; i + 1 < seq.length; i++) {
      const c = seq[i] as number;
      const n = seq[i + 1] as number;
      counts[c * real + n] = (counts[c * real + n] as number) + 1;
      rowTotals[c] = (rowTotals[c] as number) + 1;
      unigram[n] = (unigram[n] as number) + 1;
      total++;
    }
  }
  for (let n = 0; n < real; n++) unigram[n] = ((unigram[n] as number) + 0.5) / (total + 0.5 * real);
  const m = new Float64Array(real * real);
  for (let c = 0; c < real; c++) {
    const denominator = (rowTotals[c] as number) + SMOOTHING;
    let mean = 0;
    for (let n = 0; n < real; n++) {
      const value = Math.log(((counts[c * real + n] as number) + SMOOTHING * (unigram[n] as number)) / denominator);
      m[c * real + n] = value;
      mean += value;
    }
    mean /= real;
    for (let n = 0; n < real; n++) m[c * real + n] = (m[c * real + n] as number) - mean;
  }
  return m;
}

/** Orthonormalizes the k columns of the row-major R×k matrix `q` in place (modified Gram–Schmidt). */
function orthonormalize(q: Float64Array, rows: number, k: number): void {
  for (let j = 0; j < k; j++) {
    for (let p = 0; p < j; p++) {
      let dot = 0;
      for (let r = 0; r < rows; r++) dot += (q[r * k + j] as number) * (q[r * k + p] as number);
      for (let r = 0; r < rows; r++) q[r * k + j] = (q[r * k + j] as number) - dot * (q[r * k + p] as number);
    }
    let norm = 0;
    for (let r = 0; r < rows; r++) norm += (q[r * k + j] as number) ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let r = 0; r < rows; r++) q[r * k + j] = (q[r * k + j] as number) / norm;
  }
}

/** out (R×k) = M (R×R) · x (R×k), or Mᵀ · x when `transpose`. */
function multiply(m: Float64Array, x: Float64Array, rows: number, k: number, transpose: boolean): Float64Array {
  const out = new Float64Array(rows * k);
  // Walk M row by row either way, so memory is read in order.
  for (let a = 0; a < rows; a++) {
    const row = a * rows;
    for (let b = 0; b < rows; b++) {
      const v = m[row + b] as number;
      const xo = (transpose ? a : b) * k;
      const oo = (transpose ? b : a) * k;
      for (let j = 0; j < k; j++) out[oo + j] = (out[oo + j] as number) + v * (x[xo + j] as number);
    }
  }
  return out;
}

/** x (R×k) · rotation (k×k). */
function rotate(x: Float64Array, rotation: Float64Array, rows: number, k: number): Float64Array {
  const out = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < k; i++) {
      const v = x[r * k + i] as number;
      for (let j = 0; j < k; j++) out[r * k + j] = (out[r * k + j] as number) + v * (rotation[i * k + j] as number);
    }
  }
  return out;
}

export interface FittedWeights {
  /** [vocab, hidden] */
  readonly embedding: Float32Array;
  /** [hidden, vocab] */
  readonly head: Float32Array;
}

/**
 * The fitted embedding and LM head for `config` (which must be untied).
 * `finalNorm` is the final RMSNorm's gain vector, divided out of the head.
 */
export function fitBigram(config: ModelConfig, finalNorm: Float32Array, trained?: TrainedTokenizer): FittedWeights {
  const corpus = trainingCorpus(config.seed);
  const tokenizer = trained ?? trainByteLevelBpe(corpus, config.vocab);
  const cache = new Map<string, number[]>();
  const sequences = corpus.map((text) => [tokenizer.bosId, ...encodeText(tokenizer, text, cache)]);
  const real = tokenizer.reservedFrom;
  const { hidden, vocab } = config;
  const k = Math.min(MAX_RANK, hidden - 2, real);
  const m = bigramLogits(sequences, real);

  // Subspace iteration for the top-k left singular subspace of M.
  const random = new Random(config.seed, "fit/subspace");
  let q: Float64Array = new Float64Array(real * k);
  for (let i = 0; i < q.length; i++) q[i] = random.normal();
  orthonormalize(q, real, k);
  for (let it = 0; it < ITERATIONS; it++) {
    q = multiply(m, multiply(m, q, real, k, true), real, k, false);
    orthonormalize(q, real, k);
  }
  let b = multiply(m, q, real, k, true); // R×k: row n is (Qᵀ M)[:, n]
  // A random rotation of the k latent coordinates (Q R)(B R)ᵀ = Q Bᵀ spreads
  // the leading singular directions over every coordinate, so the weights look
  // Gaussian to a block-wise quantizer instead of a few large coordinates
  // followed by tiny ones.
  const rotation = new Float64Array(k * k);
  const rotationRandom = new Random(config.seed, "fit/rotation");
  for (let i = 0; i < rotation.length; i++) rotation[i] = rotationRandom.normal();
  orthonormalize(rotation, k, k);
  q = rotate(q, rotation, real, k);
  b = rotate(b, rotation, real, k);

  const total = hidden * FIT_EMBEDDING_RMS * FIT_EMBEDDING_RMS; // squared norm of every row
  let maxRow = 0;
  for (let c = 0; c < real; c++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += (q[c * k + j] as number) ** 2;
    maxRow = Math.max(maxRow, Math.sqrt(s));
  }
  const scale = (0.8 * Math.sqrt(total)) / maxRow;
  const bias = 0.3 * Math.sqrt(total);
  const noiseStd = 0.1 * FIT_EMBEDDING_RMS;
  const noise = new Random(config.seed, "fit/noise");
  const embedding = new Float32Array(vocab * hidden);
  for (let c = 0; c < vocab; c++) {
    const row = c * hidden;
    if (c >= real) {
      for (let i = 0; i < hidden; i++) embedding[row + i] = FIT_EMBEDDING_RMS * noise.normal();
      continue;
    }
    let used = bias * bias;
    for (let j = 0; j < k; j++) {
      const v = (q[c * k + j] as number) * scale;
      embedding[row + j] = v;
      used += v * v;
    }
    embedding[row + k] = bias;
    for (let i = k + 2; i < hidden; i++) {
      const v = noiseStd * noise.normal();
      embedding[row + i] = v;
      used += v * v;
    }
    embedding[row + k + 1] = Math.sqrt(Math.max(0, total - used));
  }

  // h = E[c] / rms ⊙ g with rms = FIT_EMBEDDING_RMS, so W[i, n] = B[n, i] · rms / (scale · g[i]).
  const head = new Float32Array(hidden * vocab);
  const headNoise = new Random(config.seed, "fit/head");
  for (let i = 0; i < hidden; i++) {
    const gain = (finalNorm[i] as number) || 1;
    for (let n = 0; n < vocab; n++) {
      let w = 0;
      if (i < k) w = n < real ? ((b[n * k + i] as number) * FIT_EMBEDDING_RMS) / (scale * gain) : 0;
      else if (i === k) w = n < real ? 0 : (RESERVED_LOGIT * FIT_EMBEDDING_RMS) / (bias * gain);
      else if (i > k + 1) w = config.initStd * headNoise.normal();
      head[i * vocab + n] = w;
    }
  }
  return { embedding, head };
}
