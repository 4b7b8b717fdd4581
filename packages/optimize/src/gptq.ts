/**
 * GPTQ (Frantar et al., 2022): block-wise weight quantization that minimizes
 * a layer's output error on calibration activations, not the weights' own
 * error. For a MatMul y = x·W with W of shape [K, N] and H = E[x xᵀ] (K×K,
 * from the activations x the layer saw on calibration text), the rows of W
 * (one per input feature) are quantized in order; each row's rounding error
 * is spread over the rows not yet quantized through the inverse Hessian, so
 * they compensate for it:
 *
 *     U = the upper Cholesky factor of (H + λ·mean(diag H)·I)⁻¹
 *     for k = 0 … K−1:
 *       (entering a block of `blockSize` rows: each column's scale and zero
 *        point chosen from the rows as they are now, by the error-minimizing
 *        search, as MatMulNBits stores them)
 *       q = quantize(W[k, :]);  e = (W[k, :] − q) / U[k, k]
 *       W[j, :] −= U[k, j] · e   for every j > k
 *
 * The dampening λ (default 1%) keeps H invertible when some features are
 * rare on the calibration text; an input feature never seen (H[k, k] = 0)
 * carries no signal, its row is quantized as zero. The result is in
 * MatMulNBits' layout ({@link NBitsLayout}), so it is written and run exactly
 * as a round-to-nearest weight is.
 */
import { BlockQuantizer, type QuantMethod } from "./block-quant.js";
import { NBitsLayout, type NBitsWeight } from "./matmul-nbits.js";

export interface GptqOptions {
  readonly bits: 4 | 8;
  readonly blockSize: number;
  readonly symmetric: boolean;
  /**
   * How each block's scale and zero point are chosen when the block is entered
   * (from its rows as the earlier rows' errors left them): `minimize-error`
   * (default; the search of {@link BlockQuantizer}, as GPTQ's own quantizer
   * searches for the scale of least squared error) or `rtn` (the block's range).
   */
  readonly scales?: QuantMethod;
  /** λ: added to H's diagonal as a fraction of its mean; default {@link DEFAULT_DAMPENING}. */
  readonly dampening?: number;
}

/** The dampening GPTQ's authors use (1% of the mean diagonal). */
export const DEFAULT_DAMPENING = 0.01;

/** A Hessian that stays not positive definite after dampening ten times over. */
export class HessianError extends Error {}

/**
 * The upper Cholesky factor U of `a`⁻¹ (UᵀU = a⁻¹), `a` symmetric positive
 * definite (n×n, row-major, not changed). Computed from the lower Cholesky
 * factor of `a` with its rows and columns reversed (R·a·R = L·Lᵀ gives
 * a⁻¹ = (R·L⁻¹·R)ᵀ(R·L⁻¹·R), and R·L⁻¹·R is upper triangular): one
 * factorization and one triangular inverse, n³/2 multiply-adds.
 * Returns undefined when `a` is not positive definite.
 */
export function upperCholeskyOfInverse(a: Float64Array, n: number): Float64Array | undefined {
  // L: lower Cholesky factor of the reversed matrix, row-major.
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = (n - 1 - i) * n;
    for (let j = 0; j <= i; j++) {
      let sum = a[ri + (n - 1 - j)]!;
      const li = i * n;
      const lj = j * n;
      for (let k = 0; k < j; k++) sum -= l[li + k]! * l[lj + k]!;
      if (i === j) {
        if (!(sum > 0)) return undefined;
        l[li + i] = Math.sqrt(sum);
      } else {
        l[li + j] = sum / l[lj + j]!;
      }
    }
  }
  // M = L⁻¹ (lower), row by row: M[i, :] = (e_i − Σ_{k<i} L[i, k]·M[k, :]) / L[i, i].
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const mi = i * n;
    const li = i * n;
    for (let k = 0; k < i; k++) {
      const f = l[li + k]!;
      if (f === 0) continue;
      const mk = k * n;
      for (let c = 0; c <= k; c++) m[mi + c]! -= f * m[mk + c]!;
    }
    m[mi + i]! += 1;
    const d = 1 / l[li + i]!;
    for (let c = 0; c <= i; c++) m[mi + c]! *= d;
  }
  // U = R·M·R.
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) u[i * n + j] = m[(n - 1 - i) * n + (n - 1 - j)]!;
  return u;
}

/**
 * Quantizes `weight` ([K, N] row-major, not changed) with GPTQ against
 * `hessian` (K×K, row-major: E[x xᵀ] over the calibration activations; not
 * changed). `onRow` is called now and then with the rows done.
 */
export function quantizeGptq(weight: Float32Array, K: number, N: number, hessian: Float64Array, options: GptqOptions, onRow?: (done: number, total: number) => void): NBitsWeight {
  if (weight.length !== K * N) throw new RangeError(`weight has ${weight.length} values, expected K·N = ${K * N}`);
  if (hessian.length !== K * K) throw new RangeError(`the Hessian has ${hessian.length} values, expected K·K = ${K * K}`);
  const { bits, blockSize, symmetric } = options;
  const layout = new NBitsLayout(K, N, bits, blockSize, symmetric);
  const w = Float64Array.from(weight);
  const h = Float64Array.from(hessian);
  let diagonalSum = 0;
  for (let k = 0; k < K; k++) {
    if (h[k * K + k]! <= 0) {
      // Never active on the calibration text: nothing to preserve; its weights are dropped.
      h[k * K + k] = 1;
      w.fill(0, k * N, (k + 1) * N);
    }
    diagonalSum += h[k * K + k]!;
  }
  let u: Float64Array | undefined;
  for (let damp = options.dampening ?? DEFAULT_DAMPENING, tries = 0; u === undefined; damp *= 10, tries++) {
    if (tries > 10) throw new HessianError("the calibration Hessian is not positive definite even with dampening; the activations hold non-finite values");
    const damped = Float64Array.from(h);
    const add = (damp * diagonalSum) / K;
    for (let k = 0; k < K; k++) damped[k * K + k]! += add;
    u = upperCholeskyOfInverse(damped, K);
  }

  const quantizer = new BlockQuantizer({ bits, symmetric, method: options.scales ?? "minimize-error" }, blockSize);
  const maxCode = (1 << bits) - 1;
  const block = new Float32Array(blockSize);
  const scale = new Float64Array(N);
  const zero = new Int32Array(N);
  // The codes of the block being quantized, per column: [N, blockSize].
  const codes = new Uint8Array(N * blockSize);
  const scratch = new Uint8Array(blockSize);
  const error = new Float64Array(N);
  for (let k = 0; k < K; k++) {
    const b = Math.floor(k / blockSize);
    const k0 = b * blockSize;
    const length = Math.min(blockSize, K - k0);
    if (k === k0) {
      for (let n = 0; n < N; n++) {
        for (let i = 0; i < length; i++) block[i] = w[(k0 + i) * N + n]!;
        const p = quantizer.quantize(block, length, scratch);
        scale[n] = p.scale;
        zero[n] = p.zeroPoint;
      }
    }
    const row = k * N;
    const diagonal = u![k * K + k]!;
    for (let n = 0; n < N; n++) {
      const s = scale[n]!;
      const x = w[row + n]!;
      let q = zero[n]!;
      if (s !== 0) {
        q = Math.round(x / s) + zero[n]!;
        q = q < 0 ? 0 : q > maxCode ? maxCode : q;
      }
      codes[n * blockSize + (k - k0)] = q;
      error[n] = (x - s * (q - zero[n]!)) / diagonal;
    }
    for (let j = k + 1; j < K; j++) {
      const f = u![k * K + j]!;
      if (f === 0) continue;
      const rj = j * N;
      for (let n = 0; n < N; n++) w[rj + n]! -= f * error[n]!;
    }
    if (k === k0 + length - 1) {
      for (let n = 0; n < N; n++) layout.setBlock(n, b, codes.subarray(n * blockSize, (n + 1) * blockSize), length, scale[n]!, zero[n]!);
      onRow?.(k + 1, K);
    }
  }
  return layout.result();
}

/**
 * The layer's output error of replacing `weight` by `quantized` (both
 * [K, N]), as GPTQ measures it: Σₙ dₙᵀ·H·dₙ with d = W − Ŵ, i.e. the mean
 * squared error of x·W over the activations H was made from.
 */
export function outputError(weight: Float32Array, quantized: Float32Array, K: number, N: number, hessian: Float64Array): number {
  return columnOutputErrors(weight, quantized, K, N, hessian).reduce((a, b) => a + b, 0);
}

/** {@link outputError} of each output column n: dₙᵀ·H·dₙ. */
export function columnOutputErrors(weight: Float32Array, quantized: Float32Array, K: number, N: number, hessian: Float64Array): Float64Array {
  const d = new Float64Array(K * N);
  for (let i = 0; i < K * N; i++) d[i] = weight[i]! - quantized[i]!;
  // (H·D)[a, :] = Σ_b H[a, b]·D[b, :], then D[a, n]·(H·D)[a, n] summed over a.
  const hd = new Float64Array(N);
  const total = new Float64Array(N);
  for (let a = 0; a < K; a++) {
    hd.fill(0);
    const ha = a * K;
    for (let b = 0; b < K; b++) {
      const f = hessian[ha + b]!;
      if (f === 0) continue;
      const db = b * N;
      for (let n = 0; n < N; n++) hd[n]! += f * d[db + n]!;
    }
    const da = a * N;
    for (let n = 0; n < N; n++) total[n]! += d[da + n]! * hd[n]!;
  }
  return total;
}
