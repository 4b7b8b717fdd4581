/**
 * How the harness feeds a model: the Optimum decoder layout (input_ids,
 * attention_mask, position_ids, past_key_values.{i}.key|value → logits,
 * present.{i}.key|value) or, for any other model, deterministic inputs built
 * from the session's input metadata.
 */
import type { ElementType, TensorData, ValueInfo } from "@slmops/runtime";
import { SeededRandom } from "./random.js";

// The decoder convention has one definition, in the runtime package, with the feeds it takes.
export { decoderFeeds, detectDecoder, emptyCache, nextCache, type CacheSlot, type DecoderLayout, type KvCache } from "@slmops/runtime";

/** Logits of the last position of a `[1, n, vocab]` logits output, with the vocabulary size. */
export function lastLogits(outputs: Record<string, TensorData>): { data: ArrayLike<number>; offset: number; vocab: number } {
  const logits = outputs.logits;
  if (!logits) throw new Error("the model did not return logits");
  const vocab = logits.dims.at(-1);
  const positions = logits.dims.at(-2) ?? 1;
  if (vocab === undefined || vocab <= 0) throw new Error(`logits have no vocabulary dimension: ${JSON.stringify(logits.dims)}`);
  return { data: toNumbers(logits), offset: (positions - 1) * vocab, vocab };
}

/** Numeric view of float tensor data (float16 decoded). */
export function toNumbers(t: TensorData): ArrayLike<number> {
  if (t.type === "float32" || t.type === "float64") return t.data as Float32Array | Float64Array;
  if (t.type === "float16") return Float32Array.from(t.data as Uint16Array, halfToFloat);
  throw new Error(`expected float logits, got ${t.type}`);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** A prompt of `count` token ids drawn from [0, vocab) with a fixed seed. */
export function seededPrompt(seed: number, count: number, vocab: number): number[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: count }, () => random.int(vocab));
}

const TOKEN_INPUTS = new Set(["input_ids", "attention_mask", "token_type_ids", "position_ids"]);

/**
 * Deterministic inputs for a model that is not a decoder: symbolic dimensions
 * are 1, except the sequence dimension of token inputs, which is
 * `sequenceLength`. Float inputs are uniform in [−1, 1), token ids in
 * [0, 100), masks 1, positions 0…n−1, other integers in [0, 10).
 */
export function genericFeeds(inputs: readonly ValueInfo[], seed: number, sequenceLength: number): Record<string, TensorData> {
  const random = new SeededRandom(seed);
  const feeds: Record<string, TensorData> = {};
  for (const info of inputs) {
    if (info.type === undefined || info.shape === undefined) {
      throw new Error(`input ${info.name} is not a tensor; the benchmark can only feed tensors`);
    }
    const token = TOKEN_INPUTS.has(info.name);
    const dims = info.shape.map((d, axis) => (typeof d === "number" && d >= 0 ? d : token && axis > 0 ? sequenceLength : 1));
    const size = dims.reduce((a, b) => a * b, 1);
    const value = (i: number): number => {
      if (info.name === "attention_mask") return 1;
      if (info.name === "position_ids") return i % (dims.at(-1) ?? 1);
      if (info.name === "token_type_ids") return 0;
      if (info.name === "input_ids") return random.int(100);
      return isFloat(info.type) ? random.next() * 2 - 1 : random.int(10);
    };
    feeds[info.name] = { type: info.type, dims, data: fill(info.type, size, value) };
  }
  return feeds;
}

function isFloat(type: ElementType | undefined): boolean {
  return type === "float32" || type === "float64" || type === "float16";
}

function fill(type: ElementType, size: number, value: (i: number) => number): TensorData["data"] {
  const values = Array.from({ length: size }, (_, i) => value(i));
  switch (type) {
    case "float32":
      return Float32Array.from(values);
    case "float64":
      return Float64Array.from(values);
    case "float16":
      return Uint16Array.from(values, floatToHalf);
    case "int8":
      return Int8Array.from(values);
    case "uint8":
      return Uint8Array.from(values);
    case "int16":
      return Int16Array.from(values);
    case "uint16":
      return Uint16Array.from(values);
    case "int32":
      return Int32Array.from(values);
    case "uint32":
      return Uint32Array.from(values);
    case "int64":
      return BigInt64Array.from(values, (v) => BigInt(v));
    case "uint64":
      return BigUint64Array.from(values, (v) => BigInt(v));
    case "bool":
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
    case "string":
      return values.map((v) => String(v));
  }
}

function floatToHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (exponent <= 0) return sign;
  if (exponent >= 0x1f) return sign | 0x7c00;
  return sign | (exponent << 10) | (mantissa >>> 13);
}
