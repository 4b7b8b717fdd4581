import { describe, expect, it } from "vitest";
import { quantizeGptq, upperCholeskyOfInverse } from "./gptq.js";
import { dequantizeNBits, quantizeNBits } from "./matmul-nbits.js";
import { openMatrixProduct } from "./matrix-product.js";
import { seeded } from "./test-support/random.js";

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Activations [rows, K] with correlated features and a few outlier features, as real layers have. */
function activations(rows: number, K: number, seed: number): Float64Array {
  const rand = seeded(seed);
  const x = new Float64Array(rows * K);
  const mix = Array.from({ length: K }, () => normal(rand));
  for (let r = 0; r < rows; r++) {
    const shared = normal(rand);
    for (let k = 0; k < K; k++) x[r * K + k] = normal(rand) + mix[k]! * shared + (k % 17 === 0 ? 6 * normal(rand) : 0);
  }
  return x;
}

function hessianOf(x: Float64Array, rows: number, K: number): Float64Array {
  const h = new Float64Array(K * K);
  for (let r = 0; r < rows; r++) for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) h[i * K + j]! += (x[r * K + i]! * x[r * K + j]!) / rows;
  return h;
}

/** Σ over rows of ‖x·(W − Ŵ)‖²: the layer's output error on these activations. */
function outputError(x: Float64Array, rows: number, K: number, N: number, w: Float32Array, q: Float32Array): number {
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < N; n++) {
      let y = 0;
      for (let k = 0; k < K; k++) y += x[r * K + k]! * (w[k * N + n]! - q[k * N + n]!);
      sum += y * y;
    }
  }
  return sum;
}

function weights(K: number, N: number, seed: number): Float32Array {
  const rand = seeded(seed);
  return Float32Array.from({ length: K * N }, () => normal(rand) * 0.05);
}

describe("upperCholeskyOfInverse", () => {
  it("gives U upper triangular with UᵀU·A = I for a positive definite A, and nothing for one that is not", () => {
    const K = 40;
    const a = hessianOf(activations(200, K, 3), 200, K);
    for (let k = 0; k < K; k++) a[k * K + k]! += 0.01;
    const u = upperCholeskyOfInverse(a, K)!;
    for (let i = 0; i < K; i++) for (let j = 0; j < i; j++) expect(u[i * K + j]).toBe(0);
    let worst = 0;
    for (let i = 0; i < K; i++) {
      for (let j = 0; j < K; j++) {
        let v = 0;
        for (let m = 0; m < K; m++) {
          let inv = 0; // (UᵀU)[i, m]
          for (let t = 0; t <= Math.min(i, m); t++) inv += u[t * K + i]! * u[t * K + m]!;
          v += inv * a[m * K + j]!;
        }
        worst = Math.max(worst, Math.abs(v - (i === j ? 1 : 0)));
      }
    }
    expect(worst).toBeLessThan(1e-8);
    const indefinite = Float64Array.from([1, 2, 2, 1]);
    expect(upperCholeskyOfInverse(indefinite, 2)).toBeUndefined();
  });
});

describe("quantizeGptq", () => {
  const K = 96;
  const N = 24;

  it("is round-to-nearest when the features are uncorrelated (H = I) and its scales are rtn's: nothing to compensate", async () => {
    const w = weights(K, N, 5);
    const identity = new Float64Array(K * K);
    for (let k = 0; k < K; k++) identity[k * K + k] = 1;
    // (The search refits a block's scale to the codes it chose, so its codes are not re-derived from its scale; rtn's are.)
    for (const [symmetric, method] of [[true, "rtn"], [false, "rtn"]] as const) {
      const gptq = await quantizeGptq(w, K, N, identity, { bits: 4, blockSize: 32, symmetric, scales: method });
      const rtn = quantizeNBits(w, K, N, { bits: 4, blockSize: 32, symmetric, method });
      expect(Buffer.from(gptq.packed).equals(Buffer.from(rtn.packed))).toBe(true);
      expect(gptq.scales).toEqual(rtn.scales);
      expect(gptq.zeroPoints).toEqual(rtn.zeroPoints);
    }
  });

  it("has a lower output error than round-to-nearest and minimize-error on correlated activations with outliers, at 4 and 8 bits", async () => {
    const rows = 400;
    for (const seed of [1, 2, 3]) {
      const x = activations(rows, K, seed);
      const h = hessianOf(x, rows, K);
      const w = weights(K, N, seed + 10);
      for (const bits of [4, 8] as const) {
        const gptq = outputError(x, rows, K, N, w, dequantizeNBits(await quantizeGptq(w, K, N, h, { bits, blockSize: 32, symmetric: false })));
        const rtn = outputError(x, rows, K, N, w, dequantizeNBits(quantizeNBits(w, K, N, { bits, blockSize: 32, symmetric: false, method: "rtn" })));
        const search = outputError(x, rows, K, N, w, dequantizeNBits(quantizeNBits(w, K, N, { bits, blockSize: 32, symmetric: false, method: "minimize-error" })));
        expect(gptq, `seed ${seed}, ${bits} bits: gptq ${gptq}, rtn ${rtn}`).toBeLessThan(0.8 * rtn);
        expect(gptq, `seed ${seed}, ${bits} bits: gptq ${gptq}, minimize-error ${search}`).toBeLessThan(0.8 * search);
      }
    }
  });

  it("gives the same weight across batches of rows whether ONNX Runtime or JavaScript multiplies the batch's errors, still below rtn's output error", async () => {
    const K2 = 320; // three batches of 128 rows
    const rows = 600;
    const x = activations(rows, K2, 21);
    const h = hessianOf(x, rows, K2);
    const w = weights(K2, N, 22);
    const product = await openMatrixProduct();
    try {
      const viaRuntime = dequantizeNBits(await quantizeGptq(w, K2, N, h, { bits: 4, blockSize: 32, symmetric: false }, product.multiply));
      const viaJs = dequantizeNBits(await quantizeGptq(w, K2, N, h, { bits: 4, blockSize: 32, symmetric: false }));
      const gptq = outputError(x, rows, K2, N, w, viaRuntime);
      const js = outputError(x, rows, K2, N, w, viaJs);
      const rtn = outputError(x, rows, K2, N, w, dequantizeNBits(quantizeNBits(w, K2, N, { bits: 4, blockSize: 32, symmetric: false, method: "rtn" })));
      // float32 products against float64 ones: a rounding may land the other way on a few codes.
      expect(Math.abs(gptq - js) / js).toBeLessThan(0.01);
      expect(gptq).toBeLessThan(0.8 * rtn);
    } finally {
      await product.release();
    }
  });

  it("quantizes a feature never seen on the calibration text as zero, and keeps the others finite", async () => {
    const rows = 200;
    const x = activations(rows, K, 9);
    for (let r = 0; r < rows; r++) x[r * K + 5] = 0;
    const h = hessianOf(x, rows, K);
    const q = dequantizeNBits(await quantizeGptq(weights(K, N, 4), K, N, h, { bits: 4, blockSize: 32, symmetric: false }));
    for (let n = 0; n < N; n++) expect(q[5 * N + n]).toBe(0);
    expect(q.every(Number.isFinite)).toBe(true);
  });
});
