import { describe, expect, it } from "vitest";
import { ConfigurationError } from "@slmops/diagnostics";
import { describePass, normalizePass } from "./pass-options.js";

function fails(spec: unknown): string {
  try {
    normalizePass(spec, "passes[0]");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigurationError");
}

describe("pass options", () => {
  it("fills in the manifest's defaults", () => {
    expect(normalizePass({ quantize: { weights: "int4" } })).toEqual({
      name: "quantize",
      weights: "int4",
      activations: "none",
      blockSize: 32,
      symmetric: false,
      method: "rtn",
      accuracyLevel: undefined,
      excludeNodes: [],
      overrides: [],
    });
    // int8 is block-wise weight-only (MatMulNBits, 8 bits), symmetric, unless it asks for dynamic activations.
    expect(normalizePass({ quantize: { weights: "int8" } })).toEqual({ name: "quantize", weights: "int8", activations: "none", blockSize: 32, symmetric: true, method: "rtn", accuracyLevel: undefined, excludeNodes: [], overrides: [] });
    expect(normalizePass({ quantize: { weights: "int8", activations: "dynamic" } })).toEqual({ name: "quantize", weights: "int8", activations: "dynamic", excludeNodes: [] });
    expect(normalizePass({ convert: { to: "fp16" } })).toEqual({ name: "convert", to: "fp16", keepIoTypes: true, keepOps: [] });
    expect(normalizePass({ prune: { sparsity: "25%" } })).toEqual({ name: "prune", sparsity: 0.25, scope: "per-layer" });
    expect(normalizePass({ "graph-optimize": {} })).toEqual({ name: "graph-optimize", level: "extended", allowMachineSpecific: false });
    expect(normalizePass({ "graph-optimize": null })).toEqual({ name: "graph-optimize", level: "extended", allowMachineSpecific: false });
  });

  it("maps accuracy levels to MatMulNBits' numbers", () => {
    const levels = ["fp32", "fp16", "bf16", "int8"].map((l) => {
      const p = normalizePass({ quantize: { weights: "int4", "accuracy-level": l } });
      return p.name === "quantize" && p.activations === "none" ? p.accuracyLevel : undefined;
    });
    expect(levels).toEqual([1, 2, 3, 4]);
  });

  it("says what is wrong, where, and how to fix it", () => {
    expect(fails({ quantize: { weights: "int3" } })).toBe("passes[0].quantize.weights must be one of int4, int8, got \"int3\"");
    expect(fails({ quantize: {} })).toMatch(/passes\[0\]\.quantize\.weights is required/);
    expect(fails({ quantize: { weights: "int4", "block-size": 48 } })).toMatch(/block-size must be 16, 32, 64 or 128, got 48/);
    expect(fails({ quantize: { weights: "int4", "block-size": 256 } })).toMatch(/block-size/);
    expect(fails({ quantize: { weights: "int8", activations: "dynamic", "block-size": 32 } })).toBe("passes[0].quantize.block-size applies to block-wise weight-only quantization, not to activations: dynamic; remove it or remove activations: dynamic");
    expect(fails({ quantize: { weights: "int8", activations: "dynamic", symmetric: false } })).toMatch(/with dynamic activations, int8 weights are symmetric per channel/);
    expect(fails({ quantize: { weights: "int4", activations: "dynamic" } })).toMatch(/applies to int8 weights only/);
    expect(fails({ quantize: { weights: "int8", activations: "static" } })).toBe("passes[0].quantize.activations must be one of none, dynamic, got \"static\"");
    expect(fails({ quantize: { weights: "int4", methd: "rtn" } })).toMatch(/unknown option `methd`/);
    expect(fails({ prune: { sparsity: 1 } })).toMatch(/below 100%/);
    expect(fails({ prune: { sparsity: "120%" } })).toMatch(/below 100%/);
    expect(fails({ prune: { sparsity: -0.1 } })).toMatch(/below 100%/);
    expect(fails({ "graph-optimize": { level: "all" } })).toMatch(/tied to the machine.*allow-machine-specific: true/);
    expect(fails({ "graph-optimize": { level: "layout" } })).toMatch(/allow-machine-specific/);
    expect(fails({ quantize: { weights: "int4" }, prune: { sparsity: 0.5 } })).toMatch(/exactly one key/);
    expect(fails({})).toMatch(/exactly one key.*found none/);
    expect(fails("quantize")).toMatch(/must be an object/);
    expect(fails({ distill: {} })).toMatch(/unknown pass `distill`/);
    expect(fails({ convert: { to: "bf16" } })).toMatch(/to must be one of fp16/);
    expect(fails({ convert: { to: "fp16", "keep-ops": "Softmax" } })).toMatch(/keep-ops must be a list/);
  });

  it("accepts machine-specific levels only when allowed", () => {
    expect(normalizePass({ "graph-optimize": { level: "all", "allow-machine-specific": true } })).toEqual({
      name: "graph-optimize",
      level: "all",
      allowMachineSpecific: true,
    });
  });

  it("describes passes in one line", () => {
    expect(describePass(normalizePass({ quantize: { weights: "int4", method: "minimize-error", "block-size": 64 } }))).toBe(
      "quantize(int4, block 64, zero points, minimize-error)",
    );
    expect(describePass(normalizePass({ prune: { sparsity: 0.5, scope: "global" } }))).toBe("prune(50%, global)");
  });
});
