import { describe, expect, it } from "vitest";
import { BlockQuantizer } from "./block-quant.js";
import { dequantizeNBits, quantizeNBits } from "./matmul-nbits.js";
import { dequantizeInt8, quantizeInt8PerChannel } from "./int8.js";
import { weightLike } from "./test-support/random.js";

function mse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}

describe("MatMulNBits layout", () => {
  it("packs codes low nibble first, blocks along K per output column", () => {
    // K = 32, N = 2, block 16: column 0 holds 0..15 twice-scaled, column 1 all equal.
    const K = 32;
    const N = 2;
    const w = new Float32Array(K * N);
    for (let k = 0; k < K; k++) {
      w[k * N] = k % 16; // 0..15: asymmetric rtn gives scale 1, zero point 0, codes = values
      w[k * N + 1] = -1;
    }
    const q = quantizeNBits(w, K, N, { blockSize: 16, symmetric: false, method: "rtn" });
    expect(q.kBlocks).toBe(2);
    expect(q.blobSize).toBe(8);
    expect(q.packed.length).toBe(N * 2 * 8);
    // column 0, block 0: codes 0,1 → byte 0x10; 2,3 → 0x32 ...
    expect([...q.packed.subarray(0, 8)]).toEqual([0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]);
    expect(q.scales[0]).toBeCloseTo(1, 6);
    // column 1: all −1 → range [−1, 0], zero point 15, codes 0.
    expect(q.scales[2]).toBeCloseTo(1 / 15, 6);
    expect(q.zeroPoints).toBeDefined();
    // zero points: [N, ceil(2·4/8) = 1]; column 0 blocks (0, 0) → 0x00; column 1 blocks (15, 15) → 0xff.
    expect([...q.zeroPoints!]).toEqual([0x00, 0xff]);
    expect(dequantizeNBits(q)).toEqual(w);
  });

  it("pads a short last block with codes that decode to zero", () => {
    const K = 40;
    const N = 3;
    const w = weightLike(K * N, 7);
    for (const symmetric of [true, false]) {
      const q = quantizeNBits(w, K, N, { blockSize: 32, symmetric, method: "rtn" });
      expect(q.kBlocks).toBe(2);
      const back = dequantizeNBits(q);
      expect(back.length).toBe(K * N);
      // every padded code equals the block's zero point
      const zeroOf = (n: number, b: number) =>
        q.zeroPoints ? (q.zeroPoints[n]! >> (4 * b)) & 15 : 8;
      for (let n = 0; n < N; n++) {
        for (let i = 8; i < 32; i++) {
          const byte = q.packed[(n * 2 + 1) * 16 + (i >> 1)]!;
          expect((byte >> (4 * (i & 1))) & 15).toBe(zeroOf(n, 1));
        }
      }
    }
  });

  it("symmetric rtn maps the largest magnitude to code 0 and omits zero points", () => {
    const w = new Float32Array(16).map((_, i) => (i === 5 ? -0.8 : 0.01 * i));
    const q = quantizeNBits(w, 16, 1, { blockSize: 16, symmetric: true, method: "rtn" });
    expect(q.zeroPoints).toBeUndefined();
    expect(q.scales[0]).toBeCloseTo(0.1, 6);
    const code5 = (q.packed[2]! >> 4) & 15;
    expect(code5).toBe(0);
    expect(dequantizeNBits(q)[5]).toBeCloseTo(-0.8, 6);
  });

  it.each([16, 32, 64, 128])("rtn error is bounded by half a step (block %i)", (blockSize) => {
    const K = 256;
    const N = 24;
    const w = weightLike(K * N, blockSize);
    const q = quantizeNBits(w, K, N, { blockSize, symmetric: false, method: "rtn" });
    const back = dequantizeNBits(q);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        const s = q.scales[n * q.kBlocks + Math.floor(k / blockSize)]!;
        expect(Math.abs(back[k * N + n]! - w[k * N + n]!)).toBeLessThanOrEqual(s / 2 + 1e-7);
      }
    }
  });

  it("rejects block sizes MatMulNBits does not accept", () => {
    const w = new Float32Array(64);
    expect(() => quantizeNBits(w, 64, 1, { blockSize: 24, symmetric: true, method: "rtn" })).toThrow(/power of two/);
    expect(() => quantizeNBits(w, 64, 1, { blockSize: 8, symmetric: true, method: "rtn" })).toThrow(/power of two/);
  });
});

describe("error-minimizing search", () => {
  const K = 512;
  const N = 64;
  const w = weightLike(K * N, 42);

  it.each([
    [16, false],
    [32, false],
    [32, true],
    [64, false],
    [128, true],
  ])("lowers the reconstruction error vs rtn (block %i, symmetric %s)", (blockSize, symmetric) => {
    const rtn = dequantizeNBits(quantizeNBits(w, K, N, { blockSize, symmetric, method: "rtn" }));
    const search = dequantizeNBits(quantizeNBits(w, K, N, { blockSize, symmetric, method: "minimize-error" }));
    expect(mse(w, search)).toBeLessThan(mse(w, rtn) * 0.97);
  });

  it("is never worse than rtn on any single block, by its objective (magnitude-weighted, net-error term)", () => {
    for (const symmetric of [false, true]) {
      const options = { bits: 4, symmetric } as const;
      const rtn = new BlockQuantizer({ ...options, method: "rtn" }, 32);
      const search = new BlockQuantizer({ ...options, method: "minimize-error", weighting: "magnitude", biasWeight: 1 }, 32);
      const codes = new Uint8Array(32);
      const cost = (x: Float32Array, scale: number, zeroPoint: number) => {
        const meanAbs = x.reduce((a, v) => a + Math.abs(v), 0) / 32;
        let e2 = 0;
        let sum = 0;
        for (let i = 0; i < 32; i++) {
          const e = x[i]! - scale * (codes[i]! - zeroPoint);
          e2 += (Math.abs(x[i]!) + meanAbs) * e * e;
          sum += e;
        }
        return e2 + (sum * sum) / 32;
      };
      for (let b = 0; b < 200; b++) {
        const x = weightLike(32, 1000 + b);
        const p = rtn.quantize(x, 32, codes);
        const eRtn = cost(x, p.scale, p.zeroPoint);
        const s = search.quantize(x, 32, codes);
        expect(cost(x, s.scale, s.zeroPoint)).toBeLessThanOrEqual(eRtn * (1 + 1e-6));
        expect(s.zeroPoint).toBeGreaterThanOrEqual(0);
        expect(s.zeroPoint).toBeLessThanOrEqual(15);
      }
    }
  });

  it("magnitude weighting lowers the magnitude-weighted error, uniform weighting the plain one", () => {
    const blockSize = 32;
    const run = (weighting: "uniform" | "magnitude") =>
      dequantizeNBits(quantizeNBits(w, K, N, { blockSize, symmetric: false, method: "minimize-error", weighting, biasWeight: 0 }));
    const uniform = run("uniform");
    const magnitude = run("magnitude");
    const weightedError = (r: Float32Array) => {
      let e = 0;
      for (let i = 0; i < w.length; i++) e += Math.abs(w[i]!) * (w[i]! - r[i]!) ** 2;
      return e;
    };
    expect(weightedError(magnitude)).toBeLessThan(weightedError(uniform));
    expect(mse(w, uniform)).toBeLessThan(mse(w, magnitude));
  });
});

describe("int8 per-channel", () => {
  it("keeps each column within half its step and uses the symmetric range", () => {
    const K = 64;
    const N = 16;
    const w = weightLike(K * N, 3);
    for (let k = 0; k < K; k++) w[k * N + 3] = 0; // an all-zero column
    const q = quantizeInt8PerChannel(w, K, N);
    const back = dequantizeInt8(q);
    expect(Math.min(...q.codes)).toBeGreaterThanOrEqual(-127);
    for (let n = 0; n < N; n++) {
      let peak = 0;
      for (let k = 0; k < K; k++) peak = Math.max(peak, Math.abs(w[k * N + n]!));
      if (peak > 0) expect(q.scales[n]).toBeCloseTo(peak / 127, 8);
      for (let k = 0; k < K; k++) {
        expect(Math.abs(back[k * N + n]! - w[k * N + n]!)).toBeLessThanOrEqual(q.scales[n]! / 2 + 1e-9);
      }
    }
    expect(q.scales[3]).toBe(1);
    for (let k = 0; k < K; k++) expect(back[k * N + 3]).toBe(0);
  });
});
