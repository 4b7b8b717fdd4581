import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { loadEval, parseEvalLines } from "./eval-set.js";
import { characterTokenizer } from "./test-support/project.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-eval-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("eval sets", () => {
  it("tokenizes each line's text with the tokenizer, within the limits, and hashes the files", async () => {
    const dataset = join(dir, "eval.jsonl");
    const text = '{"text": "abc"}\n\n{"text": "hello world"}\r\n{"text": "zz"}\n';
    await writeFile(dataset, text);
    const tokenizer = join(dir, "tokenizer.json");
    await writeFile(tokenizer, JSON.stringify(characterTokenizer()));
    const ev = await loadEval({ dataset, tokenizer }, { maxSequences: 2, maxSequenceTokens: 4 });
    expect(ev.sequences).toEqual([
      [1, 2, 3],
      [8, 5, 12, 12],
    ]);
    expect(ev.tokens).toBe(7);
    expect(ev.sha256).toBe(createHash("sha256").update(text).digest("hex"));
  });

  it("points at the line of a mistake, with a hint", () => {
    expect(() => parseEvalLines('{"text": "a"}\n{"txt": "b"}\n', "data/eval.jsonl", 10)).toThrow(
      'data/eval.jsonl:2:1: error: expected an object with a string `text`\n  hint: each line must be one JSON object like {"text": "..."}',
    );
    expect(() => parseEvalLines('{"text": "a"}\n\n{oops\n', "e.jsonl", 10)).toThrow(/^e.jsonl:3:1: error: not valid JSON/);
    expect(() => parseEvalLines("\n\n", "e.jsonl", 10)).toThrow(/e.jsonl: error: the eval set has no lines/);
  });

  it("a tokenizer that is not one is a clear error", async () => {
    const dataset = join(dir, "e2.jsonl");
    await writeFile(dataset, '{"text": "a"}\n');
    const tokenizer = join(dir, "bad-tokenizer.json");
    await writeFile(tokenizer, "{ not json");
    await expect(loadEval({ dataset, tokenizer }, { maxSequences: 1, maxSequenceTokens: 4 })).rejects.toThrow(/bad-tokenizer.json: error: not a usable Hugging Face tokenizer.json/);
  });
});
