/**
 * Agreement between a reference model's logits and a variant's, position by
 * position: the numbers the tests and benchmarks report for every pass.
 */

export interface LogitComparison {
  /** Positions compared. */
  readonly positions: number;
  /** Mean KL(reference ‖ variant) over next-token distributions, in nats. */
  readonly klDivergence: number;
  /** Standard error of that mean. */
  readonly klStandardError: number;
  /** Share of positions whose argmax agrees. */
  readonly top1Agreement: number;
  /** Largest |reference − variant| over all logits. */
  readonly maxAbsDiff: number;
  /** KL(reference ‖ variant) at each position, for paired comparisons. */
  readonly klPerPosition: readonly number[];
}

/**
 * Compares two logit tensors of the same shape [..., vocab], each row one
 * position. Non-finite variant logits make the comparison infinite, never NaN.
 */
export function compareLogits(reference: Float32Array, variant: Float32Array, vocab: number): LogitComparison {
  if (reference.length !== variant.length) {
    throw new RangeError(`logits differ in length: ${reference.length} vs ${variant.length}`);
  }
  if (vocab <= 0 || reference.length % vocab !== 0) throw new RangeError(`logits length ${reference.length} is not a multiple of vocab ${vocab}`);
  const positions = reference.length / vocab;
  const kls: number[] = [];
  let agree = 0;
  let maxAbsDiff = 0;
  for (let p = 0; p < positions; p++) {
    const off = p * vocab;
    const logP = logSoftmax(reference, off, vocab);
    const logQ = logSoftmax(variant, off, vocab);
    let kl = 0;
    let argP = 0;
    let argQ = 0;
    for (let i = 0; i < vocab; i++) {
      const lp = logP[i]!;
      kl += Math.exp(lp) * (lp - logQ[i]!);
      if (reference[off + i]! > reference[off + argP]!) argP = i;
      if (variant[off + i]! > variant[off + argQ]!) argQ = i;
      const d = Math.abs(reference[off + i]! - variant[off + i]!);
      if (!(d <= maxAbsDiff)) maxAbsDiff = Number.isNaN(d) ? Infinity : d;
    }
    kls.push(Number.isNaN(kl) ? Infinity : Math.max(0, kl));
    if (argP === argQ) agree++;
  }
  const mean = kls.reduce((a, b) => a + b, 0) / positions;
  const variance = positions > 1 ? kls.reduce((a, b) => a + (b - mean) ** 2, 0) / (positions - 1) : 0;
  return {
    positions,
    klDivergence: mean,
    klStandardError: Math.sqrt(variance / positions),
    top1Agreement: agree / positions,
    maxAbsDiff,
    klPerPosition: kls,
  };
}

function logSoftmax(x: Float32Array, offset: number, n: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, x[offset + i]!);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(x[offset + i]! - max);
  const logZ = max + Math.log(sum);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[offset + i]! - logZ;
  return out;
}

/** Root-mean-square difference between two arrays of equal length. */
export function rmse(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum / a.length);
}

/**
 * Paired difference of two variants' KL against the same reference, position
 * by position: mean(a − b) and its standard error. A negative mean with
 * |mean| several standard errors wide means `a` is reliably closer.
 */
export function pairedKlDifference(a: LogitComparison, b: LogitComparison): { mean: number; standardError: number } {
  const n = a.klPerPosition.length;
  if (n !== b.klPerPosition.length || n === 0) throw new RangeError("comparisons cover different positions");
  const d = a.klPerPosition.map((v, i) => v - b.klPerPosition[i]!);
  const mean = d.reduce((s, v) => s + v, 0) / n;
  const variance = n > 1 ? d.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, standardError: Math.sqrt(variance / n) };
}
