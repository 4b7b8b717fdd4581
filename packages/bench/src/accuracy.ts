/**
 * Accuracy of a variant against its reference (the fp32 source model), over
 * next-token distributions, as SPEC.md defines them:
 *
 * - KL divergence: KL(P ‖ Q) = Σᵢ pᵢ (log pᵢ − log qᵢ) per position, P the
 *   reference's softmax and Q the variant's; reported as the mean over all
 *   positions with its standard error (sample standard deviation / √n).
 * - top-1 agreement: share of positions where argmax Q = argmax P (ties go to
 *   the lowest token id).
 * - perplexity: exp(mean over positions of −log Q(next token)).
 */
import { mean, standardError } from "./statistics.js";

type Numbers = ArrayLike<number>;

/** log-softmax of `values[offset .. offset + length)`, computed in float64. */
export function logSoftmax(values: Numbers, offset = 0, length = values.length - offset): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < length; i++) max = Math.max(max, values[offset + i] as number);
  let sum = 0;
  for (let i = 0; i < length; i++) sum += Math.exp((values[offset + i] as number) - max);
  const logZ = max + Math.log(sum);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = (values[offset + i] as number) - logZ;
  return out;
}

/** Index of the largest value (lowest index on ties). */
export function argmax(values: Numbers, offset = 0, length = values.length - offset): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = values[offset + i] as number;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/** KL(P ‖ Q) for two log-probability vectors of the same length. */
export function klDivergence(referenceLogProbs: Numbers, variantLogProbs: Numbers): number {
  if (referenceLogProbs.length !== variantLogProbs.length) {
    throw new RangeError("klDivergence: distributions differ in length");
  }
  let kl = 0;
  for (let i = 0; i < referenceLogProbs.length; i++) {
    const lp = referenceLogProbs[i] as number;
    if (lp === -Infinity) continue;
    kl += Math.exp(lp) * (lp - (variantLogProbs[i] as number));
  }
  // Rounding can make a KL of identical distributions a hair negative.
  return Math.max(0, kl);
}

export interface AccuracyMetrics {
  /** Number of next-token positions compared. */
  readonly positions: number;
  readonly klDivergence: number;
  readonly klDivergenceStderr: number;
  readonly top1Agreement: number;
  readonly perplexity: number;
  /** Perplexity of the reference itself on the same tokens. */
  readonly referencePerplexity: number;
}

/** Accumulates per-position comparisons and yields the eval-set metrics. */
export class AccuracyAccumulator {
  private readonly kls: number[] = [];
  private agreements = 0;
  private nll = 0;
  private referenceNll = 0;

  /**
   * Adds one position: the reference's log-probabilities, the variant's raw
   * logits (`variantLogits[offset .. offset + vocab)`), and the token that
   * actually came next.
   */
  add(referenceLogProbs: Numbers, variantLogits: Numbers, offset: number, nextToken: number): void {
    const vocab = referenceLogProbs.length;
    if (nextToken < 0 || nextToken >= vocab) throw new RangeError(`token ${nextToken} is outside the vocabulary (${vocab})`);
    const variant = logSoftmax(variantLogits, offset, vocab);
    this.kls.push(klDivergence(referenceLogProbs, variant));
    if (argmax(referenceLogProbs) === argmax(variant)) this.agreements++;
    this.nll -= variant[nextToken] as number;
    this.referenceNll -= referenceLogProbs[nextToken] as number;
  }

  get positions(): number {
    return this.kls.length;
  }

  result(): AccuracyMetrics {
    const n = this.kls.length;
    if (n === 0) throw new RangeError("no positions to compare: the eval set has no sequence of two or more tokens");
    return {
      positions: n,
      klDivergence: mean(this.kls),
      klDivergenceStderr: standardError(this.kls),
      top1Agreement: this.agreements / n,
      perplexity: Math.exp(this.nll / n),
      referencePerplexity: Math.exp(this.referenceNll / n),
    };
  }
}
