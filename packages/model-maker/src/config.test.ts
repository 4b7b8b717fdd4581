import { ConfigurationError } from "@slmops/diagnostics";
import { describe, expect, it } from "vitest";
import { PRESETS, PRESET_NAMES, parameterCount, resolveConfig } from "./config.js";

describe("resolveConfig", () => {
  it("starts from the tiny preset and applies overrides", () => {
    const config = resolveConfig({ layers: 3, kvHeads: 1, tied: false, seed: 9 });
    expect(config).toEqual({ ...PRESETS.tiny, layers: 3, kvHeads: 1, tied: false, seed: 9 });
  });

  it("ignores undefined overrides (flags the user did not pass)", () => {
    expect(resolveConfig({ preset: "nano", hidden: undefined })).toEqual(PRESETS.nano);
  });

  it.each([
    [{ preset: "huge" as never }, /unknown model preset `huge`; use one of `nano`, `tiny`/],
    [{ hidden: 100, heads: 3 }, /--hidden \(100\) must be a multiple of --heads \(3\)/],
    [{ hidden: 96, heads: 32 }, /even width for rotary embeddings/],
    [{ heads: 4, kvHeads: 3 }, /--kv-heads \(3\) must divide --heads \(4\)/],
    [{ vocab: 100 }, /--vocab must be between 258 and 262144, got 100/],
    [{ layers: 1.5 }, /--layers must be a whole number, got 1.5/],
    [{ seed: Number.NaN }, /--seed must be a number/],
    [{ tied: "yes" as never }, /--tied must be true or false/],
  ])("rejects %j with a message naming the flag", (options, message) => {
    expect(() => resolveConfig(options)).toThrow(ConfigurationError);
    expect(() => resolveConfig(options)).toThrow(message);
  });
});

describe("parameterCount", () => {
  it("counts every weight of a small model by hand", () => {
    // vocab 300, hidden 8, 1 layer, 2 heads (d = 4), 1 kv head, intermediate 12, untied.
    const config = resolveConfig({ vocab: 300, hidden: 8, layers: 1, heads: 2, kvHeads: 1, intermediate: 12, tied: false });
    const embedding = 300 * 8;
    const attention = 8 * 8 /* q */ + 8 * 4 /* k */ + 8 * 4 /* v */ + 8 * 8; /* o */
    const mlp = 3 * 8 * 12;
    const norms = 8 + 8 + 8;
    expect(parameterCount(config)).toBe(embedding * 2 + attention + mlp + norms);
    expect(parameterCount({ ...config, tied: true })).toBe(embedding + attention + mlp + norms);
  });

  it("sizes the presets from about 0.25M to about 100M parameters", () => {
    const counts = Object.fromEntries(PRESET_NAMES.map((name) => [name, parameterCount(PRESETS[name])]));
    expect(counts).toEqual({
      nano: 250_432,
      tiny: 1_000_576,
      small: 9_966_848,
      medium: 31_597_056,
      large: 100_092_672,
    });
  });
});
