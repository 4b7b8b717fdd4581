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
 * - `minimize-error` — a search that needs no calibration data: it tries a fan of scales
 *   around the range-based one, snaps each to its best integer zero point,
 *   refits the scale by weighted least squares for the codes it produced, and
 *   keeps the candidate with the smallest weighted squared error (the idea of
 *   llama.cpp's k-quant `make_qkx`/`make_qx` searches). Round-to-nearest is
 *   one of the candidates, so the search is never worse than it on the block.
 */

/** How block parameters are chosen. */
export type QuantMethod = "rtn" | "minimize-error";

/** Weighting of the squared error the `minimize-error` search minimizes. */
export type ErrorWeighting = "uniform" | "magnitude";

export interface BlockQuantOptions {
  readonly bits: number;
  readonly symmetric: boolean;
  readonly method: QuantMethod;
  /** Default `uniform`; `magnitude` weights each error by |x| + mean|x|. */
  readonly weighting?: ErrorWeighting;
}

/** The chosen parameters of one block (codes are written to the caller's buffer). */
export interface BlockParams {
  scale: number;
  zeroPoint: number;
}

const ROUNDER = 6755399441055744;

/** Half-width of the scale fan the search tries (2·STEPS+1 candidates). */
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
    this.#options = { weighting: "uniform", ...options };
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
    let best = rtn;
    let bestError = this.#error(x, length, w, codes, rtn.scale, rtn.zeroPoint);
    const trial = this.#trial;

    let sumWX2 = 0;
    for (let i = 0; i < length; i++) sumWX2 += w[i]! * x[i]! * x[i]!;
    const maxCode = this.#maxCode;

    // One pass per candidate: encode, and accumulate what the closed-form
    // errors need. With d = q − z, the error at scale s is
    // Σw·x² − 2s·Σw·x·d + s²·Σw·d², smallest at the refit s* = Σw·x·d / Σw·d².
    const consider = (scale: number, zeroPoint: number): void => {
      if (!(Math.abs(scale) > 0) || !Number.isFinite(scale)) return;
      const inverse = 1 / scale;
      let num = 0;
      let den = 0;
      for (let i = 0; i < length; i++) {
        const xi = x[i]!;
        // Adding and removing 1.5·2^52 rounds to nearest (ties to even) quickly.
        let q = xi * inverse + ROUNDER - ROUNDER + zeroPoint;
        q = q < 0 ? 0 : q > maxCode ? maxCode : q;
        trial[i] = q;
        const d = q - zeroPoint;
        const wd = w[i]! * d;
        num += wd * xi;
        den += wd * d;
      }
      let candidateScale = scale;
      let candidateError = sumWX2 - 2 * scale * num + scale * scale * den;
      if (den > 0 && num !== 0) {
        const refit = num / den;
        const refitError = sumWX2 - (num * num) / den;
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
      for (let step = -SEARCH_STEPS; step <= SEARCH_STEPS; step++) {
        const levels = z + SEARCH_DELTA * step;
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
        for (let step = -SEARCH_STEPS; step <= SEARCH_STEPS; step++) {
          const levels = this.#maxCode + SEARCH_DELTA * step;
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

  #error(x: Float32Array, length: number, w: Float32Array, codes: Uint8Array, scale: number, zeroPoint: number): number {
    let error = 0;
    for (let i = 0; i < length; i++) {
      const d = x[i]! - scale * (codes[i]! - zeroPoint);
      error += w[i]! * d * d;
    }
    return error;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
