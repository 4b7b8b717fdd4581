/**
 * Per-channel symmetric int8 quantization of a MatMul weight W [K, N]: one
 * scale per output column n, codes in [−127, 127] (the symmetric range, so
 * the zero point is exactly 0 and −128 is never used).
 */
export interface Int8Weight {
  readonly K: number;
  readonly N: number;
  /** [K, N] row-major, like the weight it replaces. */
  readonly codes: Int8Array;
  /** [N] */
  readonly scales: Float32Array;
}

export function quantizeInt8PerChannel(weight: Float32Array, K: number, N: number): Int8Weight {
  if (weight.length !== K * N) throw new RangeError(`weight has ${weight.length} values, expected K·N = ${K * N}`);
  const peak = new Float32Array(N);
  for (let k = 0; k < K; k++) {
    const row = k * N;
    for (let n = 0; n < N; n++) {
      const a = Math.abs(weight[row + n]!);
      if (a > peak[n]!) peak[n] = a;
    }
  }
  const scales = new Float32Array(N);
  const inverse = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    const s = peak[n]! / 127;
    scales[n] = s === 0 ? 1 : s;
    inverse[n] = 1 / scales[n]!;
  }
  const codes = new Int8Array(K * N);
  for (let k = 0; k < K; k++) {
    const row = k * N;
    for (let n = 0; n < N; n++) {
      const q = Math.round(weight[row + n]! * inverse[n]!);
      codes[row + n] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
  }
  return { K, N, codes, scales };
}

export function dequantizeInt8(q: Int8Weight): Float32Array {
  const out = new Float32Array(q.K * q.N);
  for (let k = 0; k < q.K; k++) {
    for (let n = 0; n < q.N; n++) out[k * q.N + n] = q.codes[k * q.N + n]! * q.scales[n]!;
  }
  return out;
}
