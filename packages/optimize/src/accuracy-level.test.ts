import { describe, expect, it } from "vitest";
import { withDefaultAccuracyLevel } from "./accuracy-level.js";
import type { BlockSettings } from "./pass-options.js";

const int4: BlockSettings = { weights: "int4", blockSize: 32, symmetric: false, method: "rtn", accuracyLevel: undefined };
const level = (s: BlockSettings, providers: readonly string[]) => {
  const r = withDefaultAccuracyLevel(s, providers);
  return r.accuracyLevel === undefined ? "unset" : `${r.accuracyLevel} (${r.accuracyLevelDefault ?? "written"})`;
};

describe("the default accuracy level", () => {
  it("is int8 compute for 4-bit rtn and minimize-error where the CPU provider runs MatMulNBits", () => {
    expect(level(int4, ["cpu"])).toBe("4 (default for cpu)");
    expect(level({ ...int4, method: "minimize-error" }, [])).toBe("4 (default for cpu)");
    // XNNPACK leaves MatMulNBits to the CPU provider; CUDA ignores the attribute.
    expect(level(int4, ["xnnpack", "cpu"])).toBe("4 (default for xnnpack, cpu)");
    expect(level(int4, ["cuda", "cpu"])).toBe("4 (default for cpu)");
  });

  it("stays ONNX Runtime's where the fast level costs accuracy, where no provider reads it, or where one is not measured", () => {
    expect(level({ ...int4, method: "gptq" }, ["cpu"])).toBe("unset");
    expect(level({ ...int4, weights: "int8", symmetric: true }, ["cpu"])).toBe("unset");
    expect(level(int4, ["cuda"])).toBe("unset");
    expect(level(int4, ["webgpu", "cpu"])).toBe("unset");
    expect(level(int4, ["openvino"])).toBe("unset");
  });

  it("is int8 compute for an 8-bit override in a 4-bit pass (mixed precision), whose added error is small beside the 4-bit nodes'", () => {
    const int8 = { ...int4, weights: "int8" as const, symmetric: true };
    expect(withDefaultAccuracyLevel(int8, ["cpu"], true)).toMatchObject({ accuracyLevel: 4, accuracyLevelDefault: "default for cpu beside 4-bit weights" });
    expect(withDefaultAccuracyLevel(int8, ["cpu"], false).accuracyLevel).toBeUndefined();
    expect(withDefaultAccuracyLevel(int8, ["webgpu"], true).accuracyLevel).toBeUndefined();
  });

  it("never replaces a written level", () => {
    expect(level({ ...int4, accuracyLevel: 1 }, ["cpu"])).toBe("1 (written)");
  });
});
