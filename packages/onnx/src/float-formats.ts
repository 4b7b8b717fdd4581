/**
 * Conversions between float32 and the small float formats ONNX stores as bit
 * patterns: float16, bfloat16, the float8 variants, float4 e2m1 and e8m0.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 half-precision bits → number. */
export function float16ToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** number → IEEE 754 half-precision bits, rounding to nearest even (overflow → ±Infinity). */
export function float32ToFloat16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** bfloat16 bits → number. */
export function bfloat16ToFloat32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

/** number → bfloat16 bits, rounding to nearest even (NaN stays NaN). */
export function float32ToBfloat16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

interface MiniFloat {
  readonly expBits: number;
  readonly mantBits: number;
  readonly bias: number;
  /** "ieee": all-ones exponent is inf/NaN; "fn": only all-ones pattern is NaN; "fnuz": 0x80 is NaN, no -0. */
  readonly special: "ieee" | "fn" | "fnuz" | "none";
}

function decodeMiniFloat(bits: number, spec: MiniFloat): number {
  const total = 1 + spec.expBits + spec.mantBits;
  const signBit = 1 << (total - 1);
  const expMask = (1 << spec.expBits) - 1;
  const mantMask = (1 << spec.mantBits) - 1;
  if (spec.special === "fnuz" && bits === signBit) return NaN;
  const sign = bits & signBit ? -1 : 1;
  const exp = (bits >> spec.mantBits) & expMask;
  const mant = bits & mantMask;
  if (spec.special === "ieee" && exp === expMask) return mant ? NaN : sign * Infinity;
  if (spec.special === "fn" && exp === expMask && mant === mantMask) return NaN;
  if (exp === 0) return sign * mant * 2 ** (1 - spec.bias - spec.mantBits);
  return sign * (1 + mant / (1 << spec.mantBits)) * 2 ** (exp - spec.bias);
}

const E4M3FN: MiniFloat = { expBits: 4, mantBits: 3, bias: 7, special: "fn" };
const E4M3FNUZ: MiniFloat = { expBits: 4, mantBits: 3, bias: 8, special: "fnuz" };
const E5M2: MiniFloat = { expBits: 5, mantBits: 2, bias: 15, special: "ieee" };
const E5M2FNUZ: MiniFloat = { expBits: 5, mantBits: 2, bias: 16, special: "fnuz" };
const E2M1: MiniFloat = { expBits: 2, mantBits: 1, bias: 1, special: "none" };

export const float8e4m3fnToFloat32 = (bits: number): number => decodeMiniFloat(bits & 0xff, E4M3FN);
export const float8e4m3fnuzToFloat32 = (bits: number): number => decodeMiniFloat(bits & 0xff, E4M3FNUZ);
export const float8e5m2ToFloat32 = (bits: number): number => decodeMiniFloat(bits & 0xff, E5M2);
export const float8e5m2fnuzToFloat32 = (bits: number): number => decodeMiniFloat(bits & 0xff, E5M2FNUZ);
export const float4e2m1ToFloat32 = (bits: number): number => decodeMiniFloat(bits & 0xf, E2M1);
/** e8m0: a power of two, 2^(bits − 127); 0xFF is NaN. */
export const float8e8m0ToFloat32 = (bits: number): number => ((bits & 0xff) === 0xff ? NaN : 2 ** ((bits & 0xff) - 127));
