/**
 * Block-wise low-bit quantization of one block of weights: the numeric core
 * of the int4 pass, independent of any model format.
 *
 * A block of values x is stored as unsigned codes q in [0, 2^bits - 1], a
 * scale s and an integer zero point z, and read back as s · (q − z). The
 * symmetric form fixes z at 2^(bits−1) (ONNX Runtime's default when no zero
 * points are stored).
 *
 * Two ways to choose (s, z):
 * - `rtn` — round to nearest over the block's range, as ONNX Runtime's own
 *   quantizer does: asymmetric takes [min(x, 0), max(x, 0)] onto the code
 *   range; symmetric maps the value of largest magnitude onto the code −2^(bits−1).
 * - `minimize-error` — a search that needs no calibration data (the idea of
 *   llama.cpp's k-quant `make_qkx`/`make_qx` searches). It tries a fan of
 *   scales from the range-based one up to one level coarser, snaps each to its
 *   best integer zero point, refits the scale in closed form for the codes it
 *   produced, then tries the neighbouring zero points at the best scale, and
 *   keeps the candidate with the smallest objective
 *
 *       Σ wᵢ·eᵢ² + β·(Σ eᵢ)² / L,   e = x − s·(q − z),
 *
 *   by default the plain squared error (w = 1, β = 0). Round-to-nearest is one
 *   of the candidates, so no block gets worse by that objective.
 *
 *   The choices come from measuring KL divergence against fp32 on maker
 *   models over several token sequences, not weight error alone: scales finer
 *   than the block's range (which clip its extremes) lower the squared error
 *   further but raised the KL, so the fan never clips; magnitude weighting
 *   (w = |x| + mean|x|) and a net-error term (β > 0) helped on some inputs and
 *   hurt on others, so they are options, off by default. On models with
 *   structured weights the KL is dominated by a few LM-head columns at
 *   frequent contexts, so one model's comparison is a noisy draw; the search
 *   is judged over several such models (see the package README).
 */

/** How block parameters are chosen. */
export type QuantMethod = "rtn" | "minimize-error";

/** Weighting of the squared error the `minimize-error` search minimizes. */
export type ErrorWeighting = "uniform" | "magnitude";

export interface BlockQuantOptions {
  readonly bits: number;
  readonly symmetric: boolean;
  readonly method: QuantMethod;
  /** Default `uniform` (plain squared error); `magnitude` weights each error by |x| + mean|x|. */
  readonly weighting?: ErrorWeighting;
  /**
   * Weight β of the block's net error in the objective Σw·e² + β·(Σe)²/L;
   * default {@link DEFAULT_BIAS_WEIGHT}. 0 minimizes the squared error alone.
   */
  readonly biasWeight?: number;
}

/** The default weight of a block's net error in the `minimize-error` objective. */
export const DEFAULT_BIAS_WEIGHT = 0;

/** The chosen parameters of one block (codes are written to the caller's buffer). */
export interface BlockParams {
  scale: number;
  zeroPoint: number;
}

const ROUNDER = 6755399441055744;

/** Candidates in the scale fan beyond the range-based scale (STEPS+1 in all). */
const SEARCH_STEPS = 10;
/** Distance between neighbouring candidates, in code units of the range. */
const SEARCH_DELTA = 0.1;

/**
 * A reusable quantizer for blocks of up to `maxBlock` values. It owns its
 * scratch buffers, so quantizing millions of blocks allocates nothing.
 */
export class BlockQuantizer {
  readonly #options: Required<BlockQuantOptions>;
  readonly #maxCode: number;
  readonly #weights: Float32Array;
  readonly #trial: Uint8Array;

  constructor(options: BlockQuantOptions, maxBlock: number) {
    if (!Number.isInteger(options.bits) || options.bits < 2 || options.bits > 8) {
      throw new RangeError(`bits must be an integer from 2 to 8, got ${options.bits}`);
    }
    this.#options = { weighting: "uniform", biasWeight: DEFAULT_BIAS_WEIGHT, ...options };
    this.#maxCode = (1 << options.bits) - 1;
    this.#weights = new Float32Array(maxBlock);
    this.#trial = new Uint8Array(maxBlock);
  }

  /**
   * Quantizes `x[0..length)` into `codes[0..length)` and returns the block's
   * scale and zero point. Codes past `length` (padding) are left to the caller.
   */
  quantize(x: Float32Array, length: number, codes: Uint8Array): BlockParams {
    const { symmetric, method } = this.#options;
    const rtn = symmetric ? this.#rtnSymmetric(x, length) : this.#rtnAsymmetric(x, length);
    this.#encode(x, length, rtn.scale, rtn.zeroPoint, codes);
    if (method === "rtn" || rtn.scale === 0) return rtn;

    const w = this.#fillWeights(x, length);
    const trial = this.#trial;
    const maxCode = this.#maxCode;
    // The objective: Σw·e² + β·(Σe)²/L with e = x − s·(q − z). The second
    // term charges a block's net (mean) error, which every activation with
    // a common offset turns into a coherent output error rather than noise.
    const beta = this.#options.biasWeight / length;
    let sumWX2 = 0;
    let sumX = 0;
    for (let i = 0; i < length; i++) {
      sumWX2 += w[i]! * x[i]! * x[i]!;
      sumX += x[i]!;
    }
    const constant = sumWX2 + beta * sumX * sumX;

    // One pass per candidate: encode, and accumulate what the closed-form
    // objective needs. With d = q − z it is
    //   (Σw·x² + β·X²) − 2s·(Σw·x·d + β·X·D) + s²·(Σw·d² + β·D²),
    // smallest at the refit s* = (Σw·x·d + β·X·D) / (Σw·d² + β·D²).
    const objective = (codesOf: Uint8Array, scale: number, zeroPoint: number, encode: boolean) => {
      const inverse = 1 / scale;
      let xd = 0;
      let dd = 0;
      let sumD = 0;
      for (let i = 0; i < length; i++) {
        const xi = x[i]!;
        let q: number;
        if (encode) {
          // Adding and removing 1.5·2^52 rounds to nearest (ties to even) quickly.
          q = xi * inverse + ROUNDER - ROUNDER + zeroPoint;
          q = q < 0 ? 0 : q > maxCode ? maxCode : q;
          codesOf[i] = q;
        } else {
          q = codesOf[i]!;
        }
        const d = q - zeroPoint;
        const wd = w[i]! * d;
        xd += wd * xi;
        dd += wd * d;
        sumD += d;
      }
      return { num: xd + beta * sumX * sumD, den: dd + beta * sumD * sumD };
    };
    const at = (num: number, den: number, scale: number) => constant - 2 * scale * num + scale * scale * den;

    let best = rtn;
    const start = objective(codes, rtn.scale, rtn.zeroPoint, false);
    let bestError = at(start.num, start.den, rtn.scale);

    const consider = (scale: number, zeroPoint: number): void => {
      if (!(Math.abs(scale) > 0) || !Number.isFinite(scale)) return;
      const { num, den } = objective(trial, scale, zeroPoint, true);
      let candidateScale = scale;
      let candidateError = at(num, den, scale);
      if (den > 0 && num !== 0) {
        const refit = num / den;
        const refitError = constant - (num * num) / den;
        if (refitError < candidateError) {
          candidateError = refitError;
          candidateScale = refit;
        }
      }
      if (candidateError < bestError) {
        bestError = candidateError;
        best = { scale: candidateScale, zeroPoint };
        codes.set(trial.subarray(0, length));
      }
    };

    if (symmetric) {
      // Fan of scales around "largest magnitude ↦ −2^(bits−1)", both signs.
      const z = rtn.zeroPoint;
      const peak = -rtn.scale * z; // the signed value of largest magnitude
      for (let step = 0; step <= SEARCH_STEPS; step++) {
        const levels = z - SEARCH_DELTA * step;
        if (levels <= 0) continue;
        consider(-peak / levels, z);
        consider(peak / (levels - 1 > 0 ? levels - 1 : levels), z);
      }
    } else {
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < length; i++) {
        const v = x[i]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const range = max - min;
      if (range > 0) {
        for (let step = 0; step <= SEARCH_STEPS; step++) {
          const levels = this.#maxCode - SEARCH_DELTA * step;
          if (levels <= 0) continue;
          const scale = range / levels;
          const z = clamp(Math.round(-min / scale), 0, this.#maxCode);
          consider(scale, z);
        }
      }
    }
    // A final alternation: re-encode with the best parameters and refit once
    // more, and try the neighbouring zero points at the refit scale.
    const found = best;
    consider(found.scale, found.zeroPoint);
    if (!symmetric) {
      if (found.zeroPoint > 0) consider(found.scale, found.zeroPoint - 1);
      if (found.zeroPoint < maxCode) consider(found.scale, found.zeroPoint + 1);
    }
    return best;
  }

  #rtnAsymmetric(x: Float32Array, length: number): BlockParams {
    let min = 0;
    let max = 0;
    for (let i = 0; i < length; i++) {
      const v = x[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const scale = (max - min) / this.#maxCode;
    if (scale === 0) return { scale: 0, zeroPoint: 0 };
    return { scale, zeroPoint: clamp(Math.round(-min / scale), 0, this.#maxCode) };
  }

  #rtnSymmetric(x: Float32Array, length: number): BlockParams {
    let peak = 0;
    for (let i = 0; i < length; i++) {
      const v = x[i]!;
      if (Math.abs(v) > Math.abs(peak)) peak = v;
    }
    const zeroPoint = (this.#maxCode + 1) >> 1;
    return { scale: peak / -zeroPoint, zeroPoint };
  }

  #encode(x: Float32Array, length: number, scale: number, zeroPoint: number, codes: Uint8Array): void {
    if (scale === 0) {
      codes.fill(zeroPoint, 0, length);
      return;
    }
    const inverse = 1 / scale;
    const maxCode = this.#maxCode;
    for (let i = 0; i < length; i++) {
      const q = Math.round(x[i]! * inverse) + zeroPoint;
      codes[i] = q < 0 ? 0 : q > maxCode ? maxCode : q;
    }
  }

  #fillWeights(x: Float32Array, length: number): Float32Array {
    const w = this.#weights;
    if (this.#options.weighting === "magnitude") {
      let sum = 0;
      for (let i = 0; i < length; i++) sum += Math.abs(x[i]!);
      const mean = sum / length;
      for (let i = 0; i < length; i++) w[i] = Math.abs(x[i]!) + mean;
    } else {
      w.fill(1, 0, length);
    }
    return w;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
