/**
 * The feeds of a decoder that follows the convention of {@link detectDecoder}:
 * its KV cache between calls, and the inputs of one call.
 */
import type { DecoderLayout } from "./decoder-layout.js";
import type { TensorData } from "./index.js";

function int64(values: readonly number[], dims: readonly number[]): TensorData {
  return { type: "int64", dims, data: BigInt64Array.from(values, (v) => BigInt(v)) };
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

/** The KV cache between decoder steps: per cache input, the tensor to feed next. */
export type KvCache = Map<string, TensorData>;

export function emptyCache(layout: DecoderLayout): KvCache {
  const cache: KvCache = new Map();
  for (const slot of layout.cache) {
    const data = slot.type === "float16" ? new Uint16Array(0) : new Float32Array(0);
    cache.set(slot.input, { type: slot.type, dims: [1, slot.heads, 0, slot.headDim], data });
  }
  return cache;
}

/** Feeds for one decoder call: `tokens` appended after `past` cached positions. */
export function decoderFeeds(layout: DecoderLayout, tokens: readonly number[], past: number, cache: KvCache): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = { input_ids: int64(tokens, [1, tokens.length]) };
  if (layout.hasAttentionMask) feeds.attention_mask = int64(new Array<number>(past + tokens.length).fill(1), [1, past + tokens.length]);
  if (layout.hasPositionIds) feeds.position_ids = int64(range(past, tokens.length), [1, tokens.length]);
  if (layout.hasUseCacheBranch) feeds.use_cache_branch = { type: "bool", dims: [1], data: Uint8Array.of(past > 0 ? 1 : 0) };
  for (const [name, value] of cache) feeds[name] = value;
  return feeds;
}

/** The next cache from a decoder call's outputs. */
export function nextCache(layout: DecoderLayout, outputs: Record<string, TensorData>): KvCache {
  const cache: KvCache = new Map();
  for (const slot of layout.cache) {
    const present = outputs[slot.output];
    if (!present) throw new Error(`the model did not return ${slot.output}`);
    cache.set(slot.input, present);
  }
  return cache;
}

