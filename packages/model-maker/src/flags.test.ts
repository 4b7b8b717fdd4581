import { ConfigurationError } from "@slmops/diagnostics";
import { describe, expect, it } from "vitest";
import { PRESETS, resolveConfig } from "./config.js";
import { MODEL_FLAGS, modelOptionsFromFlags } from "./flags.js";

describe("modelOptionsFromFlags", () => {
  it("turns flag text into options resolveConfig accepts", () => {
    const options = modelOptionsFromFlags({
      preset: "small",
      "kv-heads": "1",
      tied: "false",
      "rope-theta": "500000",
      "init-std": "0.01",
      out: "somewhere", // not a model flag: left alone
    });
    expect(options).toEqual({ preset: "small", kvHeads: 1, tied: false, ropeTheta: 500000, initStd: 0.01 });
    expect(resolveConfig(options)).toEqual({ ...PRESETS.small, kvHeads: 1, tied: false, ropeTheta: 500000, initStd: 0.01 });
  });

  it("reads --fit", () => {
    expect(modelOptionsFromFlags({ fit: "bigram", tied: "false" })).toEqual({ fit: "bigram", tied: false });
    expect(() => modelOptionsFromFlags({ fit: "lots" })).toThrow("--fit must be one of none, bigram, got `lots`");
  });

  it("accepts a bare boolean flag", () => {
    expect(modelOptionsFromFlags({ tied: true })).toEqual({ tied: true });
  });

  it.each([
    [{ layers: "four" }, "--layers must be a number, got `four`"],
    [{ layers: "2.5" }, "--layers must be a whole number, got `2.5`"],
    [{ hidden: "" }, "--hidden must be a number, got ``"],
    [{ tied: "maybe" }, "--tied takes true or false, got `maybe`"],
    [{ seed: true }, "--seed needs a value, e.g. --seed=4"],
    [{ preset: "giant" }, "unknown model preset `giant`"],
  ])("names the flag in its error for %j", (values, message) => {
    expect(() => modelOptionsFromFlags(values)).toThrow(ConfigurationError);
    expect(() => modelOptionsFromFlags(values)).toThrow(message);
  });

  it("has a flag for every configuration field", () => {
    const options = new Set(MODEL_FLAGS.map((f) => f.option));
    for (const key of Object.keys(PRESETS.nano)) expect(options).toContain(key);
  });
});
