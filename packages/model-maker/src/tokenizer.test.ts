import { Tokenizer } from "@huggingface/tokenizers";
import { describe, expect, it } from "vitest";
import { evalJsonl, trainingCorpus } from "./corpus.js";
import { BOS_TOKEN, BYTE_TO_CHAR, EOS_TOKEN, tokenizerConfigJson, tokenizerJson, trainByteLevelBpe } from "./tokenizer.js";

const corpus = trainingCorpus(1234);
const evalTexts = evalJsonl(1234, 32)
  .trimEnd()
  .split("\n")
  .map((line) => (JSON.parse(line) as { text: string }).text);

function load(vocab: number): { tokenizer: Tokenizer; json: string } {
  const json = tokenizerJson(trainByteLevelBpe(corpus, vocab));
  const tokenizer = new Tokenizer(JSON.parse(json) as object, JSON.parse(tokenizerConfigJson(256)) as object);
  return { tokenizer, json };
}

describe("byte-level BPE tokenizer", () => {
  it("maps the 256 bytes to 256 distinct printable characters", () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect(BYTE_TO_CHAR[0x41]).toBe("A");
    expect(BYTE_TO_CHAR[0x20]).toBe("\u0120"); // "Ġ", GPT-2's space
  });

  it.each([300, 1024, 2048, 32000])("fills a vocabulary of exactly %i tokens", (vocab) => {
    const trained = trainByteLevelBpe(corpus, vocab);
    expect(trained.tokens).toHaveLength(vocab);
    expect(new Set(trained.tokens).size).toBe(vocab);
    expect(trained.tokens.slice(0, 2)).toEqual([BOS_TOKEN, EOS_TOKEN]);
    expect(trained.merges.length).toBe(trained.reservedFrom - 258);
  });

  it("is loaded by @huggingface/tokenizers and round-trips the eval text with every id below the vocabulary", () => {
    for (const vocab of [300, 1024, 8192]) {
      const { tokenizer } = load(vocab);
      expect(tokenizer.get_vocab(true).size).toBe(vocab);
      for (const text of evalTexts) {
        const { ids } = tokenizer.encode(text);
        expect(ids[0]).toBe(0); // <|begin_of_text|>
        expect(Math.max(...ids)).toBeLessThan(vocab);
        expect(Math.min(...ids)).toBeGreaterThanOrEqual(0);
        expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe(text);
      }
    }
  });

  it("compresses text more as the vocabulary grows (merges are learned, not padding)", () => {
    const tokensPerChar = (vocab: number) => {
      const { tokenizer } = load(vocab);
      const text = evalTexts.join(" ");
      return tokenizer.encode(text, { add_special_tokens: false }).ids.length / text.length;
    };
    const bytesOnly = tokensPerChar(258);
    const small = tokensPerChar(400);
    const larger = tokensPerChar(1024);
    expect(bytesOnly).toBe(1);
    expect(small).toBeLessThan(0.6);
    expect(larger).toBeLessThan(small);
  });

  it("round-trips text outside the training alphabet through byte tokens", () => {
    const { tokenizer } = load(512);
    const text = "Zoë saw 3 ☃ — and said “ok”.\tTabs, 42 and\nnewlines too 🙂";
    const { ids } = tokenizer.encode(text, { add_special_tokens: false });
    expect(tokenizer.decode(ids)).toBe(text);
  });

  it("writes the same bytes for the same corpus", () => {
    expect(load(1024).json).toBe(tokenizerJson(trainByteLevelBpe(trainingCorpus(1234), 1024)));
    expect(load(1024).json).not.toBe(tokenizerJson(trainByteLevelBpe(trainingCorpus(99), 1024)));
  });
});
