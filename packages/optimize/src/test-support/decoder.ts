/** Maker decoders on disk and their logits through ONNX Runtime, for pass tests. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeModel } from "@slmops/onnx";
import { PRESETS, headDim, makeModel, type ModelConfig, type PresetName } from "@slmops/model-maker";
import { createSession, type TensorData } from "@slmops/runtime";
import { seeded } from "./random.js";

export interface DecoderFile {
  readonly path: string;
  readonly config: ModelConfig;
}

/** Writes the maker's model for `preset` to `dir/name`. */
export async function writeDecoder(dir: string, preset: PresetName, name = "model.onnx"): Promise<DecoderFile> {
  const config = PRESETS[preset];
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, encodeModel(makeModel(config)));
  return { path, config };
}

/** Deterministic token ids below `vocab`. */
export function tokens(count: number, vocab: number, seed = 7): number[] {
  const rand = seeded(seed);
  return Array.from({ length: count }, () => Math.floor(rand() * vocab));
}

function int64(values: readonly number[]): TensorData {
  return { type: "int64", dims: [1, values.length], data: BigInt64Array.from(values.map(BigInt)) };
}

/** The decoder's inputs for a prefill of `ids` with an empty KV cache. */
export function prefillFeeds(config: ModelConfig, ids: readonly number[]): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {
    input_ids: int64(ids),
    attention_mask: int64(ids.map(() => 1)),
    position_ids: int64(ids.map((_, i) => i)),
  };
  for (let i = 0; i < config.layers; i++) {
    for (const kind of ["key", "value"]) {
      feeds[`past_key_values.${i}.${kind}`] = { type: "float32", dims: [1, config.kvHeads, 0, headDim(config)], data: new Float32Array(0) };
    }
  }
  return feeds;
}

/** Logits [ids.length × vocab] of one prefill. */
export async function prefillLogits(path: string, config: ModelConfig, ids: readonly number[]): Promise<Float32Array> {
  return prefillLogitsOfEach(path, config, [ids]);
}

/**
 * The logits of one prefill of each sequence (each with an empty KV cache),
 * one after another in one session: [Σ lengths × vocab]. A prefill reads
 * nothing of the one before it, so this is what a session per sequence gives,
 * without loading and optimizing the model again for each.
 */
export async function prefillLogitsOfEach(path: string, config: ModelConfig, sequences: readonly (readonly number[])[]): Promise<Float32Array> {
  const session = await createSession(path);
  try {
    const parts: Float32Array[] = [];
    for (const ids of sequences) {
      const out = await session.run(prefillFeeds(config, ids), ["logits"]);
      const logits = out.logits!;
      if (logits.type !== "float32") throw new Error(`logits are ${logits.type}`);
      parts.push(logits.data as Float32Array);
    }
    if (parts.length === 1) return parts[0]!;
    const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    parts.reduce((offset, p) => (all.set(p, offset), offset + p.length), 0);
    return all;
  } finally {
    await session.release();
  }
}
