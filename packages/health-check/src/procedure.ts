/**
 * What making and running a fixture share: how its inputs are fed, how an
 * output is reduced to a fingerprint, and how far two fingerprints are
 * apart. One definition, so the device runs exactly what the release ran.
 */
import { decoderFeeds, emptyCache, lastLogits, nextCache, toNumbers } from "@slmops/bench/model-io";
import { standardDeviation } from "@slmops/bench/statistics";
import type { DecoderLayout, Session, TensorData, TensorValues } from "@slmops/runtime";
import type { FixtureElementType, FixtureInput } from "./fixture.js";
import { holdsDecimals, isFloatType, readDecimal } from "./fixture.js";

/**
 * A decoder fixture's procedure: `prefill` in one call with an empty KV
 * cache, then each `decode` token in its own call with the cache; the last
 * call's last-position logits, over the whole vocabulary.
 */
export async function decoderLogits(session: Session, layout: DecoderLayout, prefill: readonly number[], decode: readonly number[]): Promise<Float64Array> {
  let outputs = await session.run(decoderFeeds(layout, prefill, 0, emptyCache(layout)));
  let past = prefill.length;
  for (const token of decode) {
    outputs = await session.run(decoderFeeds(layout, [token], past, nextCache(layout, outputs)));
    past += 1;
  }
  const last = lastLogits(outputs);
  return Float64Array.from({ length: last.vocab }, (_, i) => last.data[last.offset + i] as number);
}

/** The `k` largest values' indices, largest first; equal values keep the lower index first (as argmax does). */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: values.length }, (_, i) => i);
  order.sort((a, b) => (values[b] as number) - (values[a] as number) || a - b);
  return order.slice(0, k);
}

/** `count` indices spread evenly over `[0, n)` (the middle of each of `count` equal parts), without repeats. */
export function spreadIndices(n: number, count: number): number[] {
  return [...new Set(Array.from({ length: Math.min(count, n) }, (_, i) => Math.floor(((i + 0.5) * n) / Math.min(count, n))))];
}

/**
 * The unit of the tolerance: the values' standard deviation, and never less
 * than 1e-4 of their largest magnitude (nor 1e-6), so a constant output still
 * has a tolerance that is relative to it.
 */
export function scaleOf(values: ArrayLike<number>): number {
  let peak = 0;
  for (let i = 0; i < values.length; i++) peak = Math.max(peak, Math.abs(values[i] as number));
  const spread = values.length > 1 ? standardDeviation(Array.from(values)) : 0;
  return Math.max(spread, 1e-4 * peak, 1e-6);
}

/** A fingerprint value as a decimal: nine significant digits (a float32 reads back exactly), shortest form. */
export function decimal(value: number): string {
  const rounded = Number(value.toPrecision(9));
  return Object.is(rounded, -0) ? "0" : String(rounded);
}

/** How far `actual` is from `expected`, in units of `scale`: root mean square and largest difference, with where the largest is. */
export interface Deviation {
  readonly rms: number;
  readonly max: number;
  /** Position (in the fingerprint) of the largest difference. */
  readonly at: number;
}

export function deviation(expected: readonly number[], actual: readonly number[], scale: number): Deviation {
  let squares = 0;
  let max = 0;
  let at = 0;
  expected.forEach((e, i) => {
    const d = Math.abs((actual[i] as number) - e);
    // A NaN difference must not hide: it is the largest there is.
    if (Number.isNaN(d) || d > max) {
      max = Number.isNaN(d) ? Infinity : d;
      at = i;
    }
    squares += Number.isNaN(d) ? Infinity : d * d;
  });
  return { rms: Math.sqrt(squares / Math.max(1, expected.length)) / scale, max: max / scale, at };
}

/** A tensor's values as numbers (float16 decoded; integers, bool as 0/1). */
export function numbersOf(t: TensorData): ArrayLike<number> {
  if (isFloatType(t.type)) return toNumbers(t);
  if (t.type === "int64" || t.type === "uint64") return Array.from(t.data as BigInt64Array | BigUint64Array, (v) => Number(v));
  if (t.type === "string") throw new Error("string tensors have no numbers");
  return t.data as ArrayLike<number>;
}

/** A fixture input as the tensor it stands for. */
export function tensorOf(input: FixtureInput): TensorData {
  const values = input.values.map((v, i) => readDecimal(v, `input ${input.name} value ${i}`));
  return { type: input.type, dims: [...input.dims], data: typedArray(input.type, values) };
}

/** A tensor as a fixture input, every value written out ({@link FixtureInput}). */
export function fixtureInputOf(name: string, t: TensorData): FixtureInput {
  const type = t.type as FixtureElementType;
  const raw: ArrayLike<number> =
    type === "float16" ? (t.data as Uint16Array) : type === "int64" || type === "uint64" ? numbersOf(t) : (t.data as ArrayLike<number>);
  const values = Array.from(raw, (v) => (holdsDecimals(type) ? (Object.is(v, -0) ? "0" : String(v)) : v));
  return { name, type, dims: [...t.dims], values };
}

function typedArray(type: FixtureElementType, values: readonly number[]): TensorValues {
  switch (type) {
    case "float32":
      return Float32Array.from(values);
    case "float64":
      return Float64Array.from(values);
    case "float16":
    case "uint16":
      return Uint16Array.from(values);
    case "int8":
      return Int8Array.from(values);
    case "uint8":
    case "bool":
      return Uint8Array.from(values);
    case "int16":
      return Int16Array.from(values);
    case "int32":
      return Int32Array.from(values);
    case "uint32":
      return Uint32Array.from(values);
    case "int64":
      return BigInt64Array.from(values, (v) => BigInt(v));
    case "uint64":
      return BigUint64Array.from(values, (v) => BigInt(v));
  }
}

/** Flat element count of a shape. */
export function elements(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
