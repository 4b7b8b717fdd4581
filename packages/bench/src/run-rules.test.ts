import { describe, expect, it } from "vitest";
import { runUnderRules } from "./run-rules.js";

describe("run rules", () => {
  it("runs warm-up untimed, then exactly min-iterations when min-duration is already met", async () => {
    const calls: boolean[] = [];
    const out = await runUnderRules({ warmup: 3, minIterations: 7, minDurationMs: 0, maxIterations: 100 }, async (_i, timed) => {
      calls.push(timed);
    });
    expect(calls).toEqual([false, false, false, true, true, true, true, true, true, true]);
    expect(out).toMatchObject({ warmup: 3, iterations: 7, stoppedBy: "rules" });
  });

  it("keeps going past min-iterations until min-duration has passed", async () => {
    let n = 0;
    const out = await runUnderRules({ warmup: 0, minIterations: 2, minDurationMs: 60, maxIterations: 1_000_000 }, async () => {
      n++;
      await new Promise((r) => setTimeout(r, 5));
    });
    expect(out.elapsedMs).toBeGreaterThanOrEqual(60);
    expect(out.iterations).toBe(n);
    expect(out.iterations).toBeGreaterThan(2);
    expect(out.stoppedBy).toBe("rules");
  });

  it("stops at the iteration cap and says so", async () => {
    const out = await runUnderRules({ warmup: 0, minIterations: 1, minDurationMs: 60_000, maxIterations: 5 }, async () => undefined);
    expect(out).toMatchObject({ iterations: 5, stoppedBy: "max-iterations" });
  });

  it("rejects impossible rules", async () => {
    await expect(runUnderRules({ warmup: -1, minIterations: 1, minDurationMs: 0, maxIterations: 1 }, async () => undefined)).rejects.toThrow(/warmup/);
    await expect(runUnderRules({ warmup: 0, minIterations: 0, minDurationMs: 0, maxIterations: 1 }, async () => undefined)).rejects.toThrow(/minIterations/);
    await expect(runUnderRules({ warmup: 0, minIterations: 5, minDurationMs: 0, maxIterations: 2 }, async () => undefined)).rejects.toThrow(/maxIterations/);
  });
});
