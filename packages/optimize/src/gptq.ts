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
import { multiplyInJs, type Multiply } from "./matrix-product.js";

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
  /** {@link gptqFactor} of the Hessian at this dampening, when already computed (it is then not computed again). */
  readonly factor?: Float64Array;
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
 * The factor GPTQ works with: the upper Cholesky factor of the inverse of
 * the Hessian with λ·mean(diag H) added to its diagonal (λ = `dampening`,
 * raised tenfold while the matrix is not positive definite), a feature never
 * seen on the calibration text (H[k, k] = 0) given a unit diagonal. Weights
 * that read the same activation share it (the query, key and value
 * projections): compute it once and pass it as {@link GptqOptions.factor}.
 */
export function gptqFactor(hessian: Float64Array, K: number, dampening = DEFAULT_DAMPENING): Float64Array {
  if (hessian.length !== K * K) throw new RangeError(`the Hessian has ${hessian.length} values, expected K·K = ${K * K}`);
  const h = Float64Array.from(hessian);
  let diagonalSum = 0;
  for (let k = 0; k < K; k++) {
    if (h[k * K + k]! <= 0) h[k * K + k] = 1;
    diagonalSum += h[k * K + k]!;
  }
  for (let damp = dampening, tries = 0; tries <= 10; damp *= 10, tries++) {
    const damped = Float64Array.from(h);
    const add = (damp * diagonalSum) / K;
    for (let k = 0; k < K; k++) damped[k * K + k]! += add;
    const u = upperCholeskyOfInverse(damped, K);
    if (u) return u;
  }
  throw new HessianError("the calibration Hessian is not positive definite even with dampening; the activations hold non-finite values");
}

/** Rows quantized between two updates of the rows after them (GPTQ's lazy batch). */
const BATCH = 128;

/**
 * Quantizes `weight` ([K, N] row-major, not changed) with GPTQ against
 * `hessian` (K×K, row-major: E[x xᵀ] over the calibration activations; not
 * changed). Rows are taken in batches of 128: within a batch each row's
 * error updates the batch's later rows at once, and the rows after the
 * batch get the whole batch's errors in one product through `multiply`
 * (the same result, as one matrix product instead of 128 rank-one updates).
 * `onRow` is called after each block with the rows done.
 */
export async function quantizeGptq(
  weight: Float32Array,
  K: number,
  N: number,
  hessian: Float64Array,
  options: GptqOptions,
  multiply: Multiply = multiplyInJs,
  onRow?: (done: number, total: number) => void,
): Promise<NBitsWeight> {
  if (weight.length !== K * N) throw new RangeError(`weight has ${weight.length} values, expected K·N = ${K * N}`);
  if (hessian.length !== K * K) throw new RangeError(`the Hessian has ${hessian.length} values, expected K·K = ${K * K}`);
  const { bits, blockSize, symmetric } = options;
  const layout = new NBitsLayout(K, N, bits, blockSize, symmetric);
  const w = Float64Array.from(weight);
  // Never active on the calibration text: nothing to preserve; its weights are dropped.
  for (let k = 0; k < K; k++) if (hessian[k * K + k]! <= 0) w.fill(0, k * N, (k + 1) * N);
  const u = options.factor ?? gptqFactor(hessian, K, options.dampening);
  if (u.length !== K * K) throw new RangeError(`the factor has ${u.length} values, expected K·K = ${K * K}`);
  const quantizer = new BlockQuantizer({ bits, symmetric, method: options.scales ?? "minimize-error" }, blockSize);
  const maxCode = (1 << bits) - 1;
  const block = new Float32Array(blockSize);
  const scale = new Float64Array(N);
  const zero = new Int32Array(N);
  // The codes of the block being quantized, per column: [N, blockSize].
  const codes = new Uint8Array(N * blockSize);
  const scratch = new Uint8Array(blockSize);
  const batch = Math.max(BATCH, blockSize);
  const errors = new Float64Array(batch * N);
  for (let k0 = 0; k0 < K; k0 += batch) {
    const k1 = Math.min(K, k0 + batch);
    for (let k = k0; k < k1; k++) {
      const b = Math.floor(k / blockSize);
      const first = b * blockSize;
      const length = Math.min(blockSize, K - first);
      if (k === first) {
        for (let n = 0; n < N; n++) {
          for (let i = 0; i < length; i++) block[i] = w[(first + i) * N + n]!;
          const p = quantizer.quantize(block, length, scratch);
          scale[n] = p.scale;
          zero[n] = p.zeroPoint;
        }
      }
      const row = k * N;
      const diagonal = u[k * K + k]!;
      const e = (k - k0) * N;
      for (let n = 0; n < N; n++) {
        const s = scale[n]!;
        const x = w[row + n]!;
        let q = zero[n]!;
        if (s !== 0) {
          q = Math.round(x / s) + zero[n]!;
          q = q < 0 ? 0 : q > maxCode ? maxCode : q;
        }
        codes[n * blockSize + (k - first)] = q;
        errors[e + n] = (x - s * (q - zero[n]!)) / diagonal;
      }
      // Within the batch: this row's error on the batch's later rows.
      for (let j = k + 1; j < k1; j++) {
        const f = u[k * K + j]!;
        if (f === 0) continue;
        const rj = j * N;
        for (let n = 0; n < N; n++) w[rj + n]! -= f * errors[e + n]!;
      }
      if (k === first + length - 1) {
        for (let n = 0; n < N; n++) layout.setBlock(n, b, codes.subarray(n * blockSize, (n + 1) * blockSize), length, scale[n]!, zero[n]!);
        onRow?.(k + 1, K);
      }
    }
    // After the batch: W[k1:, :] −= U[k0:k1, k1:]ᵀ · E.
    const rest = K - k1;
    if (rest > 0) {
      const rows = k1 - k0;
      const ut = new Float32Array(rest * rows);
      for (let j = 0; j < rest; j++) for (let i = 0; i < rows; i++) ut[j * rows + i] = u[(k0 + i) * K + k1 + j]!;
      const update = await multiply(ut, Float32Array.from(errors.subarray(0, rows * N)), rest, rows, N);
      for (let i = 0; i < rest * N; i++) w[k1 * N + i]! -= update[i]!;
    }
  }
  return layout.result();
}

/**
 * The layer's output error, per output column n, of replacing `weight` by
 * `quantized` (both [K, N]), as GPTQ measures it: dₙᵀ·H·dₙ with d = W − Ŵ,
 * the squared error of x·Wₙ over the activations H was made from; H·D is
 * computed through `multiply`.
 */
export async function columnOutputErrors(weight: Float32Array, quantized: Float32Array, K: number, N: number, hessian: Float32Array, multiply: Multiply = multiplyInJs): Promise<Float64Array> {
  const d = new Float32Array(K * N);
  for (let i = 0; i < K * N; i++) d[i] = weight[i]! - quantized[i]!;
  const hd = await multiply(hessian, d, K, K, N);
  const total = new Float64Array(N);
  for (let i = 0; i < K * N; i++) total[i % N]! += d[i]! * hd[i]!;
  return total;
}
