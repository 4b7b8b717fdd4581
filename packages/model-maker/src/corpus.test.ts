import { describe, expect, it } from "vitest";
import { evalJsonl, stories, trainingCorpus } from "./corpus.js";

describe("corpus", () => {
  it("makes the same stories for the same seed and different ones for another seed", () => {
    expect(stories(5, "x", 20)).toEqual(stories(5, "x", 20));
    expect(stories(5, "x", 20)).not.toEqual(stories(6, "x", 20));
  });

  it("keeps the eval stories apart from the training stories", () => {
    const train = new Set(trainingCorpus(1234));
    const evalTexts = evalJsonl(1234, 64)
      .trimEnd()
      .split("\n")
      .map((line) => (JSON.parse(line) as { text: string }).text);
    expect(evalTexts).toHaveLength(64);
    const overlap = evalTexts.filter((t) => train.has(t)).length;
    expect(overlap).toBeLessThan(evalTexts.length / 2);
  });

  it("writes one {\"text\"} object per line, each a few sentences of plain ASCII", () => {
    const lines = evalJsonl(7, 10).split("\n");
    expect(lines.pop()).toBe("");
    for (const line of lines) {
      const record = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(record)).toEqual(["text"]);
      const text = record.text as string;
      expect(text).toMatch(/^[\x20-\x7e]+$/);
      expect(text.split(/[.!?]"? /).length).toBeGreaterThanOrEqual(4);
    }
  });
});
