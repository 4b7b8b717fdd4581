import { describe, expect, it } from "vitest";
import { BENCH_COUNT_BOUNDS, parseManifest } from "./index.js";

describe("bench count bounds", () => {
  it("are the bounds the manifest enforces", async () => {
    const { maximum } = BENCH_COUNT_BOUNDS["prompt-tokens"];
    const parse = (n: number) => parseManifest(`version: 1\nmodels:\n  - id: m\n    source: m.onnx\nbench:\n  prompt-tokens: ${n}\n`, { file: "slmops.yaml", root: ".", checkFiles: false });
    expect((await parse(maximum)).ok).toBe(true);
    const over = await parse(maximum + 1);
    expect(over.ok).toBe(false);
    expect(over.diagnostics[0]).toMatchObject({ line: 6, column: 18, code: "schema/out-of-range" });
  });

  it("count from at least 0 up to a finite maximum", () => {
    for (const { minimum, maximum } of Object.values(BENCH_COUNT_BOUNDS)) {
      expect(minimum).toBeGreaterThanOrEqual(0);
      expect(Number.isSafeInteger(maximum) && maximum > minimum).toBe(true);
    }
  });
});
