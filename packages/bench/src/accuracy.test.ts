import { describe, expect, it } from "vitest";
import { AccuracyAccumulator, argmax, klDivergence, logSoftmax } from "./accuracy.js";

describe("accuracy metrics against a hand computation", () => {
  // Position 1: reference logits [0, 0] → P = (½, ½); variant logits [ln 3, 0] → Q = (¾, ¼); next token 1.
  //   KL = ½·ln(½/¾) + ½·ln(½/¼) = ½·ln(4/3); argmax P = 0 (tie → lowest id) = argmax Q; −ln Q(1) = ln 4.
  // Position 2: reference [0, ln 3] → P = (¼, ¾); variant [0, ln 3] → same; next token 1.
  //   KL = 0; both argmax 1; −ln Q(1) = ln(4/3).
  const kl1 = 0.5 * Math.log(4 / 3);

  it("KL, top-1 agreement and perplexity", () => {
    const acc = new AccuracyAccumulator();
    acc.add(logSoftmax([0, 0]), new Float32Array([Math.log(3), 0]), 0, 1);
    acc.add(logSoftmax([0, Math.log(3)]), new Float32Array([9, 9, 0, Math.log(3)]), 2, 1); // variant row at offset 2
    const r = acc.result();
    expect(r.positions).toBe(2);
    expect(r.klDivergence).toBeCloseTo(kl1 / 2, 6);
    // Sample sd of {kl1, 0} is kl1/√2; over √2 → kl1/2.
    expect(r.klDivergenceStderr).toBeCloseTo(kl1 / 2, 6);
    expect(r.top1Agreement).toBe(1);
    expect(r.perplexity).toBeCloseTo(Math.sqrt(16 / 3), 5);
    // Reference: −ln P(1) = ln 2 then ln(4/3) → exp(mean) = √(8/3).
    expect(r.referencePerplexity).toBeCloseTo(Math.sqrt(8 / 3), 5);
  });

  it("top-1 disagreement is counted", () => {
    const acc = new AccuracyAccumulator();
    acc.add(logSoftmax([2, 1, 0]), [0, 1, 2], 0, 0);
    acc.add(logSoftmax([2, 1, 0]), [2, 1, 0], 0, 0);
    expect(acc.result().top1Agreement).toBe(0.5);
  });

  it("a variant equal to the reference has KL 0 and the same perplexity", () => {
    const logits = [0.3, -1.2, 2.5, 0.0];
    const acc = new AccuracyAccumulator();
    acc.add(logSoftmax(logits), logits, 0, 2);
    const r = acc.result();
    expect(r.klDivergence).toBe(0);
    expect(r.perplexity).toBeCloseTo(r.referencePerplexity, 12);
  });

  it("logSoftmax is stable for large logits and KL is not symmetric", () => {
    const lp = logSoftmax([1000, 1000]);
    expect(lp[0]).toBeCloseTo(Math.log(0.5), 12);
    const p = logSoftmax([0, 0]);
    const q = logSoftmax([Math.log(3), 0]);
    expect(klDivergence(p, q)).toBeCloseTo(kl1, 12);
    expect(klDivergence(q, p)).toBeCloseTo(0.75 * Math.log(1.5) + 0.25 * Math.log(0.5), 12);
    expect(argmax([1, 3, 3])).toBe(1);
  });

  it("refuses an empty comparison and out-of-vocabulary tokens", () => {
    expect(() => new AccuracyAccumulator().result()).toThrow(/no positions/);
    expect(() => new AccuracyAccumulator().add(logSoftmax([0, 0]), [0, 0], 0, 2)).toThrow(/outside the vocabulary/);
  });
});
