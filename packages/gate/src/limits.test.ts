import { describe, expect, it } from "vitest";
import { formatMetricValue } from "./format.js";
import { evaluateLimit, evaluateLimits } from "./limits.js";

describe("evaluateLimits", () => {
  it("passes values within max and min, fails outside", () => {
    const results = evaluateLimits(
      { "decode-latency-p90": 38.2, "peak-memory": 600 * 1024 * 1024, "top-1-agreement": 0.93 },
      { "decode-latency-p90": { max: 40 }, "peak-memory": { max: 512 * 1024 * 1024 }, "top-1-agreement": { min: 0.9, max: 1 } },
      formatMetricValue,
    );
    expect(results.map((r) => [r.metric, r.outcome])).toEqual([
      ["decode-latency-p90", "pass"],
      ["peak-memory", "fail"],
      ["top-1-agreement", "pass"],
    ]);
    expect(results[1]!.message).toBe("peak-memory is 600MiB, above the maximum 512MiB");
    expect(results[0]!.message).toBe("decode-latency-p90 is 38.2 ms, within ≤ 40 ms");
  });

  it("fails a metric that was not reported, never passes it", () => {
    const [result] = evaluateLimits({ ttft: 12 }, { "kl-divergence": { max: 0.05 } });
    expect(result!.outcome).toBe("fail");
    expect(result!.message).toMatch(/kl-divergence was not reported/);
    expect(evaluateLimit("ttft", null, { max: 1 }).outcome).toBe("fail");
  });

  it("fails values that are not finite numbers", () => {
    expect(evaluateLimit("ttft", Number.NaN, { max: 10 }).outcome).toBe("fail");
    expect(evaluateLimit("ttft", "5", { max: 10 }).message).toMatch(/not a finite number/);
  });

  it("ignores inherited properties of the record", () => {
    const metrics = Object.create({ ttft: 1 }) as Record<string, number>;
    expect(evaluateLimits(metrics, { ttft: { max: 10 } })[0]!.outcome).toBe("fail");
  });

  it("checks min limits for higher-is-better metrics", () => {
    expect(evaluateLimit("tokens-per-second", 20, { min: 25 }, formatMetricValue).message).toBe("tokens-per-second is 20 tokens/s, below the minimum 25 tokens/s");
  });
});

describe("formatChange", () => {
  it("writes relative changes with a sign and sensible precision", async () => {
    const { formatChange } = await import("./format.js");
    expect([formatChange(0.0123), formatChange(-0.031), formatChange(0.125), formatChange(19), formatChange(Number.NaN)]).toEqual(["+1.23%", "−3.10%", "+12.5%", "+1900%", "n/a"]);
  });
});
