/**
 * Test helpers that drive a decoder ONNX model through `@slmops/runtime` the
 * way a generation loop does, and read its weights back from the file.
 */
import { decodeModel, type ModelProto } from "@slmops/onnx";
import { tensor, type Session, type TensorData } from "@slmops/runtime";
import type { ModelConfig } from "../config.js";

export type Cache = Record<string, TensorData>;

/** Past key/values of length 0 (the first step). */
export function emptyCache(config: ModelConfig, batch: number): Cache {
  const d = config.hidden / config.heads;
  const cache: Cache = {};
  for (let i = 0; i < config.layers; i++) {
    for (const kind of ["key", "value"]) {
      cache[`past_key_values.${i}.${kind}`] = tensor("float32", new Float32Array(0), [batch, config.kvHeads, 0, d]);
    }
  }
  return cache;
}

export interface StepResult {
  /** [batch, sequence, vocab] */
  readonly logits: TensorData;
  /** `present.*` renamed to `past_key_values.*`, ready for the next step. */
  readonly cache: Cache;
  readonly outputs: Record<string, TensorData>;
}

const int64 = (rows: readonly (readonly number[])[]): TensorData =>
  tensor("int64", BigInt64Array.from(rows.flat(), (v) => BigInt(v)), [rows.length, rows[0]?.length ?? 0]);

/** One call of the model: token ids, the whole attention mask so far, positions, and the cache. */
export async function step(
  session: Session,
  ids: readonly (readonly number[])[],
  attentionMask: readonly (readonly number[])[],
  positions: readonly (readonly number[])[],
  cache: Cache,
): Promise<StepResult> {
  const outputs = await session.run({
    input_ids: int64(ids),
    attention_mask: int64(attentionMask),
    position_ids: int64(positions),
    ...cache,
  });
  const next: Cache = {};
  for (const [name, value] of Object.entries(outputs)) {
    if (name.startsWith("present.")) next[name.replace("present.", "past_key_values.")] = value;
  }
  const logits = outputs.logits;
  if (!logits) throw new Error("the model returned no logits");
  return { logits, cache: next, outputs };
}

/** Row `[b, s, :]` of a [batch, sequence, width] float tensor. */
export function row(t: TensorData, b: number, s: number): Float32Array {
  const [, sequence, width] = t.dims as [number, number, number];
  const start = (b * sequence + s) * width;
  return (t.data as Float32Array).subarray(start, start + width);
}

/** Largest |a − b| over two equally long vectors. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

/** Every float initializer of a model file, widened to float64, by name. */
export function weightsOf(bytes: Uint8Array): { model: ModelProto; weights: Map<string, Float64Array> } {
  const model = decodeModel(bytes);
  const weights = new Map<string, Float64Array>();
  for (const init of model.graph?.initializer ?? []) {
    if (init.dataType !== 1 || !init.rawData || !init.name) continue;
    const raw = init.rawData;
    const floats = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    weights.set(init.name, Float64Array.from(floats));
  }
  return { model, weights };
}
