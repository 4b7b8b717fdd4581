/**
 * Quantizes a MatMul weight W of shape [K, N] (row-major, as a MatMul's B
 * input) block-wise along K, in the layout of ONNX Runtime's `com.microsoft`
 * `MatMulNBits` operator:
 *
 * - `B`: uint8 [N, kBlocks, blockSize·bits/8] — for each output column n and
 *   each block, the block's codes packed along K, the first code of a byte in
 *   its low bits (two 4-bit codes per byte).
 * - `scales`: [N, kBlocks], one per block.
 * - `zero_points` (asymmetric only): uint8 [N, ceil(kBlocks·bits/8)], packed
 *   like B; omitted for symmetric quantization (the operator then uses 2^(bits−1)).
 *
 * K need not be a multiple of the block size: the last block is padded with
 * codes that decode to exactly zero.
 */
import { BlockQuantizer, type ErrorWeighting, type QuantMethod } from "./block-quant.js";

export interface NBitsOptions {
  /** 4 is what the pass writes; 2–8 are accepted by the layout. Only 2, 4 and 8 pack whole codes into bytes. */
  readonly bits?: 2 | 4 | 8;
  /** 16, 32, 64 or 128 (a power of two, at least 16). */
  readonly blockSize: number;
  readonly symmetric: boolean;
  readonly method: QuantMethod;
  readonly weighting?: ErrorWeighting;
  /** `minimize-error` only: weight of a block's net error (default 0: squared error alone). */
  readonly biasWeight?: number;
}

export interface NBitsWeight {
  readonly K: number;
  readonly N: number;
  readonly bits: number;
  readonly blockSize: number;
  readonly kBlocks: number;
  readonly blobSize: number;
  /** [N, kBlocks, blobSize] */
  readonly packed: Uint8Array;
  /** [N, kBlocks] */
  readonly scales: Float32Array;
  /** [N, ceil(kBlocks·bits/8)], or undefined when symmetric. */
  readonly zeroPoints: Uint8Array | undefined;
}

/** Checks a block size against MatMulNBits' rule (power of two, ≥ 16). */
export function isValidBlockSize(blockSize: number): boolean {
  return Number.isInteger(blockSize) && blockSize >= 16 && (blockSize & (blockSize - 1)) === 0;
}

/**
 * Quantizes `weight` ([K, N] row-major). `onColumn` is called after each
 * output column with the number done so far (for progress reporting).
 */
export function quantizeNBits(
  weight: Float32Array,
  K: number,
  N: number,
  options: NBitsOptions,
  onColumn?: (done: number, total: number) => void,
): NBitsWeight {
  const bits = options.bits ?? 4;
  const { blockSize } = options;
  if (!isValidBlockSize(blockSize)) throw new RangeError(`block size must be a power of two of at least 16, got ${blockSize}`);
  if (weight.length !== K * N) throw new RangeError(`weight has ${weight.length} values, expected K·N = ${K * N}`);
  const layout = new NBitsLayout(K, N, bits, blockSize, options.symmetric);
  const quantizer = new BlockQuantizer(
    {
      bits,
      symmetric: options.symmetric,
      method: options.method,
      ...(options.weighting ? { weighting: options.weighting } : {}),
      ...(options.biasWeight !== undefined ? { biasWeight: options.biasWeight } : {}),
    },
    blockSize,
  );
  const block = new Float32Array(blockSize);
  const codes = new Uint8Array(blockSize);

  // Work on a few output columns at a time, transposed so each block's
  // values are contiguous (a column of W is strided by N in memory).
  const stripe = 64;
  const columns = new Float32Array(stripe * K);
  for (let n0 = 0; n0 < N; n0 += stripe) {
    const width = Math.min(stripe, N - n0);
    for (let k = 0; k < K; k++) {
      const row = k * N + n0;
      for (let j = 0; j < width; j++) columns[j * K + k] = weight[row + j]!;
    }
    for (let j = 0; j < width; j++) {
      const n = n0 + j;
      for (let b = 0; b < layout.kBlocks; b++) {
        const k0 = b * blockSize;
        const length = Math.min(blockSize, K - k0);
        block.set(columns.subarray(j * K + k0, j * K + k0 + length));
        const { scale, zeroPoint } = quantizer.quantize(block, length, codes);
        layout.setBlock(n, b, codes, length, scale, zeroPoint);
      }
      onColumn?.(n + 1, N);
    }
  }
  return layout.result();
}

/**
 * The MatMulNBits tensors of one weight, filled block by block: codes,
 * scale and zero point of block `b` of output column `n`. Codes past a
 * short last block are written as the zero point, so they decode to zero.
 */
export class NBitsLayout {
  readonly kBlocks: number;
  readonly blobSize: number;
  readonly #zpColumns: number;
  readonly #packed: Uint8Array;
  readonly #scales: Float32Array;
  readonly #zeroPoints: Uint8Array | undefined;

  constructor(
    readonly K: number,
    readonly N: number,
    readonly bits: number,
    readonly blockSize: number,
    symmetric: boolean,
  ) {
    if (!isValidBlockSize(blockSize)) throw new RangeError(`block size must be a power of two of at least 16, got ${blockSize}`);
    this.kBlocks = Math.ceil(K / blockSize);
    this.blobSize = (blockSize * bits) / 8;
    this.#zpColumns = Math.ceil((this.kBlocks * bits) / 8);
    this.#packed = new Uint8Array(N * this.kBlocks * this.blobSize);
    this.#scales = new Float32Array(N * this.kBlocks);
    this.#zeroPoints = symmetric ? undefined : new Uint8Array(N * this.#zpColumns);
  }

  /** Stores one block; `codes[0..length)` are its codes (the array is padded in place). */
  setBlock(n: number, b: number, codes: Uint8Array, length: number, scale: number, zeroPoint: number): void {
    const { bits, blockSize, blobSize, kBlocks } = this;
    const perByte = 8 / bits;
    const mask = (1 << bits) - 1;
    codes.fill(zeroPoint, length, blockSize); // padding decodes to zero
    this.#scales[n * kBlocks + b] = scale;
    const packed = this.#packed;
    const base = (n * kBlocks + b) * blobSize;
    if (bits === 4) {
      for (let i = 0; i < blobSize; i++) packed[base + i] = (codes[2 * i]! & 15) | ((codes[2 * i + 1]! & 15) << 4);
    } else {
      packed.fill(0, base, base + blobSize);
      for (let i = 0; i < blockSize; i++) packed[base + Math.floor(i / perByte)]! |= (codes[i]! & mask) << ((i % perByte) * bits);
    }
    if (this.#zeroPoints) {
      const at = n * this.#zpColumns + Math.floor(b / perByte);
      const shift = (b % perByte) * bits;
      this.#zeroPoints[at] = (this.#zeroPoints[at]! & ~(mask << shift)) | ((zeroPoint & mask) << shift);
    }
  }

  result(): NBitsWeight {
    const { K, N, bits, blockSize, kBlocks, blobSize } = this;
    return { K, N, bits, blockSize, kBlocks, blobSize, packed: this.#packed, scales: this.#scales, zeroPoints: this.#zeroPoints };
  }
}

/**
 * A weight whose output column n is column n of `candidates[choice[n]]`:
 * each column of a MatMulNBits weight (its blocks, scales and zero points)
 * is stored apart from the others, so columns can be taken from different
 * quantizations of one weight (same K, N, bits, block size and symmetry).
 */
export function mixColumns(candidates: readonly NBitsWeight[], choice: Int32Array): NBitsWeight {
  const first = candidates[0];
  if (!first) throw new RangeError("no candidates to mix");
  const { K, N, bits, blockSize, kBlocks, blobSize } = first;
  for (const c of candidates) {
    if (c.K !== K || c.N !== N || c.bits !== bits || c.blockSize !== blockSize || (c.zeroPoints === undefined) !== (first.zeroPoints === undefined)) {
      throw new RangeError("candidates to mix must share K, N, bits, block size and symmetry");
    }
  }
  if (choice.length !== N) throw new RangeError(`choice has ${choice.length} entries, expected N = ${N}`);
  const zpColumns = Math.ceil((kBlocks * bits) / 8);
  const packed = new Uint8Array(first.packed.length);
  const scales = new Float32Array(first.scales.length);
  const zeroPoints = first.zeroPoints ? new Uint8Array(first.zeroPoints.length) : undefined;
  for (let n = 0; n < N; n++) {
    const c = candidates[choice[n]!];
    if (!c) throw new RangeError(`choice ${choice[n]} for column ${n} is not a candidate`);
    const blob = kBlocks * blobSize;
    packed.set(c.packed.subarray(n * blob, (n + 1) * blob), n * blob);
    scales.set(c.scales.subarray(n * kBlocks, (n + 1) * kBlocks), n * kBlocks);
    if (zeroPoints && c.zeroPoints) zeroPoints.set(c.zeroPoints.subarray(n * zpColumns, (n + 1) * zpColumns), n * zpColumns);
  }
  return { K, N, bits, blockSize, kBlocks, blobSize, packed, scales, zeroPoints };
}

/** Reconstructs the [K, N] float weight a MatMulNBits node computes with. */
export function dequantizeNBits(q: NBitsWeight): Float32Array {
  const { K, N, bits, blockSize, kBlocks, blobSize, packed, scales, zeroPoints } = q;
  const out = new Float32Array(K * N);
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const zpColumns = Math.ceil((kBlocks * bits) / 8);
  const defaultZero = 1 << (bits - 1);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < kBlocks; b++) {
      const scale = scales[n * kBlocks + b]!;
      const zero = zeroPoints
        ? (zeroPoints[n * zpColumns + Math.floor(b / perByte)]! >> ((b % perByte) * bits)) & mask
        : defaultZero;
      const base = (n * kBlocks + b) * blobSize;
      for (let i = 0; i < blockSize; i++) {
        const k = b * blockSize + i;
        if (k >= K) break;
        const code = (packed[base + Math.floor(i / perByte)]! >> ((i % perByte) * bits)) & mask;
        out[k * N + n] = scale * (code - zero);
      }
    }
  }
  return out;
}
