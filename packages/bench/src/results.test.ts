import { describe, expect, it } from "vitest";
import { contextBuckets, variantResult } from "./results.js";
import type { Measurement } from "./measure.js";
import { percentile } from "./statistics.js";

describe("decode latency by context length", () => {
  it("groups steps into equal context ranges that cover every step once", () => {
    const context = Array.from({ length: 20 }, (_, i) => 100 + (i % 10)); // two generations of 10 steps
    const ms = context.map((c) => c / 100);
    const buckets = contextBuckets(ms, context);
    expect(buckets).toHaveLength(8);
    expect(buckets[0]?.["context-from"]).toBe(100);
    expect(buckets.at(-1)?.["context-to"]).toBe(109);
    expect(buckets.reduce((n, b) => n + b.count, 0)).toBe(20);
    for (let i = 1; i < buckets.length; i++) {
      expect(buckets[i]?.["context-from"]).toBe((buckets[i - 1]?.["context-to"] ?? NaN) + 1);
      expect(buckets[i]?.["mean-ms"]).toBeGreaterThan(buckets[i - 1]?.["mean-ms"] ?? Infinity);
    }
  });

  it("uses one bucket per context length when there are few", () => {
    expect(contextBuckets([1, 2, 3], [5, 6, 7]).map((b) => [b["context-from"], b["context-to"], b.count])).toEqual([
      [5, 5, 1],
      [6, 6, 1],
      [7, 7, 1],
    ]);
  });
});

describe("a result from a measurement", () => {
  const m: Measurement = {
    kind: "decoder",
    loadColdMs: 20,
    loadWarmMs: 5,
    baselineRssBytes: 50e6,
    peakRssBytes: 80e6,
    run: { warmup: 1, iterations: 2, elapsedMs: 100, stoppedBy: "rules" },
    ttftMs: [10, 12],
    decodeMs: [1, 2, 3, 4],
    decodeContext: [8, 9, 8, 9],
  };
  const files = { files: [{ name: "model.onnx", path: "/x/model.onnx", bytes: 1234 }], totalBytes: 1234 };

  it("puts headline figures under the gates' names, from the samples", () => {
    const r = variantResult({ model: "m", variant: "v", files, modelSha256: "f".repeat(64), memoryBudgetBytes: 64e6 }, m);
    expect(r.metrics).toEqual({
      "load-time": 20,
      "load-time-warm": 5,
      "peak-memory": 80e6,
      "model-size": 1234,
      ttft: 10,
      "ttft-p90": 12,
      "decode-latency-p50": percentile([1, 2, 3, 4], 50),
      "decode-latency-p90": 4,
      "decode-latency-p99": 4,
      "tokens-per-second": 4000 / 10,
    });
    expect(r.memory?.["within-budget"]).toBe(false);
    expect(r["decode-latency-by-context"]?.["slope-ms-per-1k-tokens"]).toBeCloseTo(1000, 9);
    expect(r.samples).toEqual({ "ttft-ms": [10, 12], "decode-ms": [1, 2, 3, 4], "decode-context": [8, 9, 8, 9] });
    expect(r.files).toEqual([{ name: "model.onnx", bytes: 1234 }]);
  });
});
