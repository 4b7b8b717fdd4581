import { describe, expect, it } from "vitest";
import { createSession } from "@slmops/runtime";
import type { ValueInfo } from "@slmops/runtime";
import { encodeModel } from "@slmops/onnx";
import { decoderFeeds, detectDecoder, emptyCache, genericFeeds, seededPrompt } from "./model-io.js";
import { TINY_DECODER, decoderModel, matmulModel } from "./test-support/models.js";

const io = (inputs: ValueInfo[], outputs: ValueInfo[]) => ({ inputs, outputs });
const v = (name: string, type: ValueInfo["type"], shape: ValueInfo["shape"]): ValueInfo => ({ name, type, shape });

describe("decoder layout", () => {
  it("is read from a real session's metadata", async () => {
    const session = await createSession(encodeModel(decoderModel()));
    const layout = detectDecoder(session);
    await session.release();
    expect(layout).toMatchObject({ hasAttentionMask: true, hasPositionIds: true, vocab: TINY_DECODER.vocab });
    expect(layout?.cache.map((c) => c.input)).toEqual(["past_key_values.0.key", "past_key_values.0.value", "past_key_values.1.key", "past_key_values.1.value"]);
    expect(layout?.cache[0]).toMatchObject({ output: "present.0.key", heads: TINY_DECODER.heads, headDim: TINY_DECODER.headDim, type: "float32" });
  });

  it("is absent for models without a KV cache", async () => {
    const session = await createSession(encodeModel(matmulModel(8, 1)));
    expect(detectDecoder(session)).toBeUndefined();
    await session.release();
    expect(detectDecoder(io([v("input_ids", "int64", ["b", "s"])], [v("logits", "float32", ["b", "s", 10])]))).toBeUndefined();
  });

  it("explains a cache it cannot drive", () => {
    const base = [v("input_ids", "int64", ["b", "s"])];
    expect(() =>
      detectDecoder(io([...base, v("past_key_values.0.key", "float32", ["b", 2, "p", 4])], [v("logits", "float32", ["b", "s", 10])])),
    ).toThrow("decoder input past_key_values.0.key has no matching output present.0.key");
    expect(() =>
      detectDecoder(
        io([...base, v("past_key_values.0.key", "float32", ["b", "heads", "p", 4])], [v("logits", "float32", ["b", "s", 10]), v("present.0.key", "float32", undefined)]),
      ),
    ).toThrow(/must have shape \[batch, kv_heads, past, head_dim\] with fixed kv_heads and head_dim/);
  });

  it("feeds positions after the cache and a mask over all of it", () => {
    const layout = detectDecoder(
      io(
        [v("input_ids", "int64", ["b", "s"]), v("attention_mask", "int64", ["b", "t"]), v("position_ids", "int64", ["b", "s"]), v("past_key_values.0.key", "float16", ["b", 2, "p", 4])],
        [v("logits", "float32", ["b", "s", 10]), v("present.0.key", "float16", ["b", 2, "t", 4])],
      ),
    );
    if (!layout) throw new Error("no layout");
    const feeds = decoderFeeds(layout, [7], 5, emptyCache(layout));
    expect(Array.from(feeds.position_ids!.data as BigInt64Array)).toEqual([5n]);
    expect(feeds.attention_mask!.dims).toEqual([1, 6]);
    expect(feeds["past_key_values.0.key"]).toMatchObject({ type: "float16", dims: [1, 2, 0, 4] });
  });
});

describe("seeded inputs", () => {
  it("are the same for the same seed and differ for another", () => {
    const inputs = [v("x", "float32", ["batch", 3]), v("input_ids", "int64", ["batch", "sequence"]), v("attention_mask", "int64", ["batch", "sequence"]), v("h", "float16", [2])];
    const a = genericFeeds(inputs, 1, 5);
    const b = genericFeeds(inputs, 1, 5);
    const c = genericFeeds(inputs, 2, 5);
    expect(a).toEqual(b);
    expect(a.x!.data).not.toEqual(c.x!.data);
    expect(a.x!.dims).toEqual([1, 3]);
    expect(a.input_ids!.dims).toEqual([1, 5]);
    expect(Array.from(a.attention_mask!.data as BigInt64Array)).toEqual([1n, 1n, 1n, 1n, 1n]);
    expect(Array.from(a.x!.data as Float32Array).every((x) => x >= -1 && x < 1)).toBe(true);
    expect(seededPrompt(3, 10, 50)).toEqual(seededPrompt(3, 10, 50));
    expect(seededPrompt(3, 10, 50).every((t) => t >= 0 && t < 50)).toBe(true);
  });
});
