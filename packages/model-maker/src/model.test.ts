/**
 * The ONNX decoder against an independent float64 reference forward pass
 * (test-support/reference.ts), on real ONNX Runtime sessions.
 *
 * Tolerance: every logit (and every cached key/value) within 1e-4 absolute of
 * the reference, i.e. max over all positions and vocabulary entries of
 * |logit_onnx − logit_reference| < 1e-4. The model computes in float32, whose
 * rounding over these widths stays around 1e-6; a wrong rotation, mask,
 * head grouping or norm moves logits by 1e-2 or more.
 */
import { encodeModel } from "@slmops/onnx";
import { createSession, type Session } from "@slmops/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig, type ModelConfig } from "./config.js";
import { decoderInputNames, decoderOutputNames, makeModel } from "./model.js";
import { emptyCache, maxAbsDiff, row, step, weightsOf, type Cache } from "./test-support/decoder-run.js";
import { ReferenceDecoder } from "./test-support/reference.js";

const TOLERANCE = 1e-4;

const CASES: { readonly name: string; readonly config: ModelConfig }[] = [
  {
    name: "grouped-query attention (4 heads, 2 kv heads), tied embeddings",
    config: resolveConfig({ vocab: 320, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 96, tied: true, seed: 11, initStd: 0.2 }),
  },
  {
    name: "multi-head attention (4 kv heads), untied embeddings, rope theta 500000",
    config: resolveConfig({ vocab: 300, hidden: 48, layers: 3, heads: 4, kvHeads: 4, intermediate: 80, tied: false, seed: 12, initStd: 0.2, ropeTheta: 500000 }),
  },
  {
    name: "multi-query attention (1 kv head), untied, realistic init scale",
    config: resolveConfig({ vocab: 400, hidden: 64, layers: 2, heads: 8, kvHeads: 1, intermediate: 128, tied: false, seed: 13 }),
  },
  {
    name: "embedding and head fitted to the corpus (fit: bigram), larger logits",
    config: resolveConfig({ vocab: 500, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 96, tied: false, seed: 14, fit: "bigram" }),
  },
];

const PROMPT = [0, 17, 250, 5, 99, 211, 42, 42, 7];

describe.each(CASES)("decoder with $name", ({ config }) => {
  let bytes: Uint8Array;
  let session: Session;
  let reference: () => ReferenceDecoder;

  beforeAll(async () => {
    bytes = encodeModel(makeModel(config));
    session = await createSession(bytes, { intraOpThreads: 1 });
    const { weights } = weightsOf(bytes);
    reference = () => new ReferenceDecoder(config, weights);
  });

  afterAll(async () => {
    await session.release();
  });

  it("declares the Optimum decoder inputs and outputs", () => {
    expect(session.inputNames).toEqual(decoderInputNames(config.layers));
    expect(session.outputNames).toEqual(decoderOutputNames(config.layers));
    const d = config.hidden / config.heads;
    expect(session.outputs[0]).toEqual({ name: "logits", type: "float32", shape: ["batch_size", "sequence_length", config.vocab] });
    expect(session.inputs[3]).toEqual({
      name: "past_key_values.0.key",
      type: "float32",
      shape: ["batch_size", config.kvHeads, "past_sequence_length", d],
    });
  });

  it("matches the reference on a whole prompt with an empty cache", async () => {
    const positions = PROMPT.map((_, i) => i);
    const { logits, outputs } = await step(session, [PROMPT], [PROMPT.map(() => 1)], [positions], emptyCache(config, 1));
    expect(logits.dims).toEqual([1, PROMPT.length, config.vocab]);
    const ref = reference();
    const expected = ref.step(PROMPT, positions);
    let worst = 0;
    for (let s = 0; s < PROMPT.length; s++) worst = Math.max(worst, maxAbsDiff(row(logits, 0, s), expected[s] as Float64Array));
    expect(worst).toBeLessThan(TOLERANCE);

    // The cache it returns holds the rotated keys and the values of every position.
    const d = config.hidden / config.heads;
    for (let layer = 0; layer < config.layers; layer++) {
      const key = outputs[`present.${layer}.key`];
      const value = outputs[`present.${layer}.value`];
      expect(key?.dims).toEqual([1, config.kvHeads, PROMPT.length, d]);
      const cache = ref.cache[layer];
      const flatKeys = cache?.keys.flatMap((perHead) => perHead.flatMap((v) => Array.from(v))) ?? [];
      const flatValues = cache?.values.flatMap((perHead) => perHead.flatMap((v) => Array.from(v))) ?? [];
      expect(maxAbsDiff(key?.data as Float32Array, flatKeys)).toBeLessThan(TOLERANCE);
      expect(maxAbsDiff(value?.data as Float32Array, flatValues)).toBeLessThan(TOLERANCE);
    }
  });

  it("matches the reference when decoding token by token with the KV cache", async () => {
    const prefill = PROMPT.slice(0, 4);
    const rest = PROMPT.slice(4);
    const ref = reference();
    const full = reference().step(PROMPT, PROMPT.map((_, i) => i));

    let result = await step(session, [prefill], [prefill.map(() => 1)], [prefill.map((_, i) => i)], emptyCache(config, 1));
    const expectedPrefill = ref.step(prefill, prefill.map((_, i) => i));
    for (let s = 0; s < prefill.length; s++) {
      expect(maxAbsDiff(row(result.logits, 0, s), expectedPrefill[s] as Float64Array)).toBeLessThan(TOLERANCE);
    }
    let cache: Cache = result.cache;
    for (let k = 0; k < rest.length; k++) {
      const position = prefill.length + k;
      const token = rest[k] as number;
      result = await step(session, [[token]], [Array.from({ length: position + 1 }, () => 1)], [[position]], cache);
      expect(result.logits.dims).toEqual([1, 1, config.vocab]);
      expect(result.cache["past_key_values.0.key"]?.dims[2]).toBe(position + 1);
      const expected = ref.step([token], [position])[0] as Float64Array;
      expect(maxAbsDiff(row(result.logits, 0, 0), expected)).toBeLessThan(TOLERANCE);
      // Decoding with the cache gives what the whole sequence gives at once.
      expect(maxAbsDiff(row(result.logits, 0, 0), full[position] as Float64Array)).toBeLessThan(TOLERANCE);
      cache = result.cache;
    }
  });

  it("ignores left padding through attention_mask in a batch", async () => {
    const a = [3, 141, 59, 26, 53, 58];
    const b = [97, 93, 238, 46];
    const pad = a.length - b.length;
    const ids = [a, [...Array.from({ length: pad }, () => 1), ...b]];
    const mask = [a.map(() => 1), [...Array.from({ length: pad }, () => 0), ...b.map(() => 1)]];
    // Positions as Transformers computes them for left padding: cumsum(mask) - 1, padding at 1.
    const positions = [a.map((_, i) => i), [...Array.from({ length: pad }, () => 1), ...b.map((_, i) => i)]];
    const first = await step(session, ids, mask, positions, emptyCache(config, 2));
    // Padding positions attend to nothing; their rows stay finite and never leak into real ones.
    expect((first.logits.data as Float32Array).every(Number.isFinite)).toBe(true);
    const expectedA = reference().step(a, a.map((_, i) => i));
    const refB = reference();
    const expectedB = refB.step(b, b.map((_, i) => i));
    for (let s = 0; s < a.length; s++) expect(maxAbsDiff(row(first.logits, 0, s), expectedA[s] as Float64Array)).toBeLessThan(TOLERANCE);
    for (let s = 0; s < b.length; s++) {
      expect(maxAbsDiff(row(first.logits, 1, pad + s), expectedB[s] as Float64Array)).toBeLessThan(TOLERANCE);
    }
    // One more step for both rows, the padded row still masked.
    const next = await step(session, [[8], [9]], [[...mask[0]!, 1], [...mask[1]!, 1]], [[a.length], [b.length]], first.cache);
    const refA = reference();
    refA.step(a, a.map((_, i) => i));
    expect(maxAbsDiff(row(next.logits, 0, 0), refA.step([8], [a.length])[0] as Float64Array)).toBeLessThan(TOLERANCE);
    expect(maxAbsDiff(row(next.logits, 1, 0), refB.step([9], [b.length])[0] as Float64Array)).toBeLessThan(TOLERANCE);
  });

  it("depends on positions only through their differences (rotary embeddings are relative)", async () => {
    const shifted = await step(session, [PROMPT], [PROMPT.map(() => 1)], [PROMPT.map((_, i) => i + 3)], emptyCache(config, 1));
    const expected = reference().step(PROMPT, PROMPT.map((_, i) => i));
    for (let s = 0; s < PROMPT.length; s++) expect(maxAbsDiff(row(shifted.logits, 0, s), expected[s] as Float64Array)).toBeLessThan(TOLERANCE);
  });

  it("is sensitive to what it is checked for (moving one position changes the logits)", async () => {
    const positions = PROMPT.map((_, i) => (i === PROMPT.length - 1 ? i + 5 : i));
    const moved = await step(session, [PROMPT], [PROMPT.map(() => 1)], [positions], emptyCache(config, 1));
    const expected = reference().step(PROMPT, PROMPT.map((_, i) => i));
    const last = PROMPT.length - 1;
    expect(maxAbsDiff(row(moved.logits, 0, last), expected[last] as Float64Array)).toBeGreaterThan(10 * TOLERANCE);
    // ...and the reference agrees on the moved position too.
    const movedReference = reference().step(PROMPT, positions);
    expect(maxAbsDiff(row(moved.logits, 0, last), movedReference[last] as Float64Array)).toBeLessThan(TOLERANCE);
  });
});
