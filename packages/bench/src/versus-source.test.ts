import { describe, expect, it } from "vitest";
import { isSourceResult, latencySpread, ratiosToSource, SOURCE_VARIANT_ID } from "./versus-source.js";

describe("a variant against the fp32 source", () => {
  const fp32 = { "decode-latency-p50": 10, "model-size": 1000, "peak-memory": 400 };

  it("says how many times faster, and its share of size and memory", () => {
    const r = ratiosToSource({ "decode-latency-p50": 5, "model-size": 250, "peak-memory": 200 }, fp32);
    expect(r.speed).toMatchObject({ ratio: 2, worse: false, text: "2.00× fp32 speed" });
    expect(r.size).toMatchObject({ ratio: 0.25, worse: false, text: "0.25× fp32 size" });
    expect(r.memory).toMatchObject({ ratio: 0.5, worse: false, text: "0.50× fp32 memory" });
  });

  it("marks a variant slower than fp32, or larger, as such", () => {
    const r = ratiosToSource({ "decode-latency-p50": 12.5, "model-size": 1100, "peak-memory": 400 }, fp32);
    expect(r.speed).toMatchObject({ ratio: 0.8, worse: true, text: "0.80× fp32 speed — slower than fp32" });
    expect(r.size?.text).toBe("1.10× fp32 size — larger than fp32");
    // Equal as shown is neither better nor worse.
    expect(r.memory).toMatchObject({ worse: false, text: "1.00× fp32 memory" });
  });

  it("judges a model other than a decoder by its per-run latency, and leaves out what either row lacks", () => {
    const r = ratiosToSource({ "latency-p50": 4 }, { "latency-p50": 3, "model-size": 10 });
    expect(r.speed?.text).toBe("0.75× fp32 speed — slower than fp32");
    expect(r.size).toBeUndefined();
    expect(r.memory).toBeUndefined();
  });

  it("knows the source's row by its reserved id, which no manifest id can be", () => {
    expect(isSourceResult({ variant: SOURCE_VARIANT_ID })).toBe(true);
    expect(isSourceResult({ variant: "fp32" })).toBe(false);
    expect(SOURCE_VARIANT_ID).not.toMatch(/^[a-z0-9][a-z0-9._-]*$/);
  });

  it("gives the p10–p90 spread of the decode samples, nearest-rank", () => {
    const decode = Array.from({ length: 100 }, (_, i) => i + 1);
    const spread = latencySpread({ model: "m", variant: "v", status: "ok", metrics: {}, samples: { "decode-ms": decode, "latency-ms": [99] } });
    expect(spread).toEqual({ count: 100, p10: 10, p50: 50, p90: 90 });
    expect(latencySpread({ model: "m", variant: "v", status: "ok", metrics: {} })).toBeUndefined();
  });
});
