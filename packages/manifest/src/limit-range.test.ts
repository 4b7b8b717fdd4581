import { describe, expect, it } from "vitest";
import { parseManifest } from "./index.js";

const manifest = (require: string) => `version: 1
models:
  - id: story-lm
    source: models/story-lm/model.onnx
gates:
  - name: accuracy
    require:
      ${require}
`;

/** The errors of a manifest whose one gate requires `require`, as `line:col code: message`. */
async function errorsOf(require: string): Promise<string[]> {
  const result = await parseManifest(manifest(require), { file: "slmops.yaml", root: ".", checkFiles: false });
  return result.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.line}:${d.column} ${d.code}: ${d.message}`);
}

describe("gate limits that can never pass or mean nothing", () => {
  it.each([
    ["perplexity: {max: 0}", "gate/never-passes: `perplexity` max of 0 can never pass: a perplexity is never below 1"],
    ["perplexity: {max: 0.5}", "gate/never-passes: `perplexity` max of 0.5 can never pass: a perplexity is never below 1"],
    ["perplexity: {min: 1}", "gate/always-passes: `perplexity` min of 1 always passes: a perplexity is never below 1"],
    ["peak-memory: {max: 0B}", "gate/never-passes: `peak-memory` max of 0B can never pass: peak memory is always more than 0"],
    ["peak-memory: {min: 0B}", "gate/always-passes: `peak-memory` min of 0B always passes: peak memory is always more than 0"],
    ["model-size: {max: 0MiB}", "gate/never-passes: `model-size` max of 0MiB can never pass: a model's size is always more than 0"],
    ["top-1-agreement: {min: -0}", "gate/always-passes: `top-1-agreement` min of -0 always passes: a share of positions is between 0% and 100%"],
    ["top-1-agreement: {min: 0%}", "gate/always-passes: `top-1-agreement` min of 0% always passes: a share of positions is between 0% and 100%"],
    ["top-1-agreement: {max: 100%}", "gate/always-passes: `top-1-agreement` max of 100% always passes: a share of positions is between 0% and 100%"],
    ["kl-divergence: {min: 0}", "gate/always-passes: `kl-divergence` min of 0 always passes: a KL divergence is never below 0"],
    ["tokens-per-second: {max: 0}", "gate/never-passes: `tokens-per-second` max of 0 can never pass: a throughput is always more than 0"],
    ["tokens-per-second: {min: 0}", "gate/always-passes: `tokens-per-second` min of 0 always passes: a throughput is always more than 0"],
    ["ttft: {max: 0ms}", "gate/never-passes: `ttft` max of 0ms can never pass: a time to first token is always more than 0"],
    ["latency-p99: {max: 0s}", "gate/never-passes: `latency-p99` max of 0s can never pass: a latency is always more than 0"],
    ["decode-latency-p50: {min: 0ns}", "gate/always-passes: `decode-latency-p50` min of 0ns always passes: a latency is always more than 0"],
    ["load-time: {max: 0ms}", "gate/never-passes: `load-time` max of 0ms can never pass: a load time is always more than 0"],
  ])("refuses %s at the value", async (require, expected) => {
    // The value follows the last `: ` of the line, indented by six spaces on line 8.
    expect(await errorsOf(require)).toEqual([`8:${6 + require.lastIndexOf(": ") + 3} ${expected}`]);
  });

  it("gives a hint with a limit that works", async () => {
    const result = await parseManifest(manifest("perplexity: {max: 0}"), { file: "slmops.yaml", root: ".", checkFiles: false });
    expect(result.diagnostics[0]?.hint).toBe("give the largest acceptable value, e.g. `max: 25`");
  });

  it.each([
    "perplexity: {max: 1.5, min: 1.01}",
    "kl-divergence: {max: 0}",
    "top-1-agreement: {min: 100%}",
    "top-1-agreement: {min: 0.001, max: 0.999}",
    "peak-memory: {max: 1B, min: 1B}",
    "tokens-per-second: {min: 0.1}",
    "ttft: {min: 1ns}",
  ])("accepts %s", async (require) => {
    expect(await errorsOf(require)).toEqual([]);
  });

  it("reports a negative or above-100% value once, as out of range", async () => {
    expect(await errorsOf("perplexity: {max: -1}")).toHaveLength(1);
    expect(await errorsOf("top-1-agreement: {min: 150%}")).toEqual(["8:30 value/out-of-range: `top-1-agreement` is a share of positions; it cannot exceed 100%"]);
  });
});
