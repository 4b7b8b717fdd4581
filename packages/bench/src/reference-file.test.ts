import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidReferenceError, readReference, referenceFileName, writeReference } from "./reference-file.js";
import type { ReferenceKey } from "./reference-file.js";

const key: ReferenceKey = { modelSha256: "a".repeat(64), evalSha256: "b".repeat(64), tokenizerSha256: "c".repeat(64), maxSequences: 8, maxSequenceTokens: 16 };
const sequences = [[1, 2, 3], [0], [3, 1]];
// 2 + 0 + 1 rows of 4 values.
const logProbs = Float32Array.from({ length: 12 }, (_, i) => -1 - i / 8);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-ref-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("reference files", () => {
  it("round-trip tokens and log-probabilities", async () => {
    const path = join(dir, referenceFileName(key));
    await writeReference(path, { key, vocab: 4, sequences }, logProbs);
    const ref = await readReference(path, key);
    expect(ref.header.sequences).toEqual(sequences);
    expect(ref.header.vocab).toBe(4);
    expect(Array.from(ref.logProbs)).toEqual(Array.from(logProbs));
  });

  it("have a name determined by the key", () => {
    expect(referenceFileName(key)).toBe(referenceFileName({ ...key }));
    expect(referenceFileName(key)).not.toBe(referenceFileName({ ...key, maxSequenceTokens: 17 }));
  });

  it("refuse a reference computed for another model, eval set or limit", async () => {
    const path = join(dir, "k.logprobs");
    await writeReference(path, { key, vocab: 4, sequences }, logProbs);
    await expect(readReference(path, { ...key, modelSha256: "d".repeat(64) })).rejects.toThrow(/different modelSha256/);
    await expect(readReference(path, { ...key, evalSha256: "d".repeat(64) })).rejects.toThrow(/different evalSha256/);
    await expect(readReference(path, { ...key, maxSequences: 9 })).rejects.toThrow(/different maxSequences/);
  });

  it("detect damaged data, a wrong shape, a bad header and foreign files", async () => {
    const path = join(dir, "t.logprobs");
    await writeReference(path, { key, vocab: 4, sequences }, logProbs);
    const good = await readFile(path);

    const flipped = Buffer.from(good);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    await writeFile(path, flipped);
    await expect(readReference(path, key)).rejects.toThrow(/does not match its sha256/);

    await writeFile(path, good.subarray(0, good.length - 4));
    await expect(readReference(path, key)).rejects.toThrow(/3 rows of 4 float32 values need 48/);

    const headerStart = good.indexOf("{");
    const badHeader = Buffer.from(good);
    badHeader.write("X", headerStart); // break the JSON
    await writeFile(path, badHeader);
    await expect(readReference(path, key)).rejects.toThrow(new InvalidReferenceError(path, "the header is not valid JSON"));

    await writeFile(path, "not a reference file at all, just text");
    await expect(readReference(path, key)).rejects.toThrow(/bad magic/);
  });

  it("refuse tokens outside the vocabulary and data of the wrong length on write", async () => {
    await expect(writeReference(join(dir, "w"), { key, vocab: 4, sequences }, new Float32Array(11))).rejects.toThrow(/expected 12/);
    const path = join(dir, "v.logprobs");
    await writeReference(path, { key, vocab: 4, sequences }, logProbs);
    const text = (await readFile(path)).toString("latin1").replace("[[1,2,3]", "[[1,2,9]");
    await writeFile(path, Buffer.from(text, "latin1"));
    await expect(readReference(path, key)).rejects.toThrow(/expected fields/);
  });
});
