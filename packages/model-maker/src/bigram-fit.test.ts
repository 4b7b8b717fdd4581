import { Tokenizer } from "@huggingface/tokenizers";
import { ConfigurationError } from "@slmops/diagnostics";
import { encodeModel } from "@slmops/onnx";
import { createSession } from "@slmops/runtime";
import { describe, expect, it } from "vitest";
import { FIT_EMBEDDING_RMS, encodeText, fitBigram } from "./bigram-fit.js";
import { resolveConfig, type ModelConfig } from "./config.js";
import { evalJsonl, trainingCorpus } from "./corpus.js";
import { makeModel } from "./model.js";
import { emptyCache, row, step } from "./test-support/decoder-run.js";
import { tokenizerJson, trainByteLevelBpe } from "./tokenizer.js";

const evalTexts = (seed: number, count: number) =>
  evalJsonl(seed, count)
    .trimEnd()
    .split("\n")
    .map((line) => (JSON.parse(line) as { text: string }).text);

describe("encodeText", () => {
  it("gives the same ids as @huggingface/tokenizers", () => {
    const trained = trainByteLevelBpe(trainingCorpus(1234), 700);
    const tokenizer = new Tokenizer(JSON.parse(tokenizerJson(trained)) as object, {});
    for (const text of [...evalTexts(1234, 16), "Zoë's 42 kites — \"wow\"!"]) {
      expect(encodeText(trained, text)).toEqual(tokenizer.encode(text, { add_special_tokens: false }).ids);
    }
  });
});

describe("fit: bigram", () => {
  it("needs an untied LM head", () => {
    expect(() => resolveConfig({ preset: "nano", fit: "bigram" })).toThrow(ConfigurationError);
    expect(() => resolveConfig({ preset: "nano", fit: "bigram" })).toThrow("--fit bigram needs an untied LM head; pass --tied=false as well");
    expect(() => resolveConfig({ fit: "trigram" as never })).toThrow("--fit must be one of none, bigram");
  });

  it("gives every used token's embedding row the same RMS, so the final RMSNorm keeps the fit", () => {
    const config = resolveConfig({ vocab: 600, hidden: 64, layers: 1, heads: 4, kvHeads: 2, intermediate: 64, tied: false, fit: "bigram" });
    const { embedding } = fitBigram(config, new Float32Array(config.hidden).fill(1));
    const trained = trainByteLevelBpe(trainingCorpus(config.seed), config.vocab);
    for (const token of [0, 5, 300, trained.reservedFrom - 1]) {
      let squares = 0;
      for (let i = 0; i < config.hidden; i++) squares += (embedding[token * config.hidden + i] as number) ** 2;
      expect(Math.sqrt(squares / config.hidden)).toBeCloseTo(FIT_EMBEDDING_RMS, 5);
    }
  });

  it("makes a model that predicts held-out stories far better than a random one", async () => {
    const base = { vocab: 600, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128, tied: false, seed: 5 } as const;
    const perplexity = async (config: ModelConfig): Promise<number> => {
      const trained = trainByteLevelBpe(trainingCorpus(config.seed), config.vocab);
      const session = await createSession(encodeModel(makeModel(config)));
      let nll = 0;
      let count = 0;
      try {
        for (const text of evalTexts(config.seed, 12)) {
          const ids = [trained.bosId, ...encodeText(trained, text)];
          const { logits } = await step(session, [ids], [ids.map(() => 1)], [ids.map((_, i) => i)], emptyCache(config, 1));
          for (let s = 0; s + 1 < ids.length; s++) {
            const scores = row(logits, 0, s);
            let max = -Infinity;
            for (const v of scores) max = Math.max(max, v);
            let sum = 0;
            for (const v of scores) sum += Math.exp(v - max);
            nll += Math.log(sum) + max - (scores[ids[s + 1] as number] as number);
            count++;
          }
        }
      } finally {
        await session.release();
      }
      return Math.exp(nll / count);
    };
    const fitted = await perplexity(resolveConfig({ ...base, fit: "bigram" }));
    const random = await perplexity(resolveConfig({ ...base, fit: "none" }));
    // A uniform guess scores the vocabulary size; the story grammar is far more predictable.
    expect(random).toBeGreaterThan(base.vocab / 2);
    expect(fitted).toBeLessThan(base.vocab / 10);
    expect(fitted * 10).toBeLessThan(random);
  });
});
