import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigurationError, describeError } from "@slmops/diagnostics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadManifest, loadManifestOrThrow, type Manifest, manifestSchema, parseManifest } from "./index.js";
import { copyExample, makeRepo } from "./test-support/repo.js";

function isDeepFrozen(value: unknown): boolean {
  if (value === null || typeof value !== "object") return true;
  return Object.isFrozen(value) && Object.values(value).every(isDeepFrozen);
}

describe("the example manifest", () => {
  let example: ReturnType<typeof copyExample>;
  let manifest: Manifest;
  let result: Awaited<ReturnType<typeof loadManifestOrThrow>>;

  beforeAll(async () => {
    example = copyExample();
    result = await loadManifestOrThrow(example.manifest);
    manifest = result.manifest;
  });
  afterAll(() => example.cleanup());

  it("loads with no problems and starts with the editor schema line", () => {
    expect(result.diagnostics).toEqual([]);
    expect(readFileSync(example.manifest, "utf8").split("\n")[0]).toBe("# yaml-language-server: $schema=../../schemas/slmops.schema.json");
  });

  it("uses every section of the schema", () => {
    const sections = Object.keys((manifestSchema as { properties: object }).properties);
    const text = readFileSync(example.manifest, "utf8");
    for (const section of sections) expect(text).toMatch(new RegExp(`^${section}:`, "mu"));
    const passKinds = new Set(manifest.models.flatMap((m) => m.variants.flatMap((v) => v.passes.map((p) => p.kind))));
    expect([...passKinds].sort()).toEqual(["convert", "graph-optimize", "prune", "quantize"]);
  });

  it("normalizes the model, its paths and its variants", () => {
    const [model] = manifest.models;
    expect(model?.id).toBe("story-lm");
    expect(model?.kind).toBe("decoder");
    expect(model?.source).toEqual({ written: "models/story-lm/model.onnx", resolved: join(example.root, "models/story-lm/model.onnx") });
    expect(model?.eval?.tokenizer?.written).toBe("models/story-lm/tokenizer.json");
    expect(model?.variants.map((v) => v.id)).toEqual(["int4", "int4-rtn", "int8", "fp16", "pruned-int8"]);
    expect(model?.variants[0]?.passes).toEqual([
      { kind: "quantize", weights: "int4", activations: "none", symmetric: false, excludeNodes: [], blockSize: 32, method: "minimize-error", accuracyLevel: "int8", overrides: [] },
      { kind: "graph-optimize", level: "extended", allowMachineSpecific: false },
    ]);
    expect(model?.variants[2]?.passes).toEqual([{ kind: "quantize", weights: "int8", activations: "none", symmetric: true, excludeNodes: [], blockSize: 32, method: "rtn", overrides: [] }]);
    expect(model?.variants[3]?.passes).toEqual([{ kind: "convert", to: "fp16", keepIoTypes: true, keepOps: ["LayerNormalization", "Softmax"] }]);
    expect(model?.variants[4]?.passes[0]).toEqual({ kind: "prune", sparsity: 0.5, scope: "per-layer" });
  });

  it("turns units into numbers and applies defaults", () => {
    const rpi5 = manifest.devices.find((d) => d.id === "rpi5");
    expect(rpi5).toMatchObject({ memoryBudgetBytes: 2 * 1024 ** 3, threads: 4, executionProviders: ["cpu"], allowFromForks: false, graphOptimizationLevel: "all" });
    const local = manifest.devices.find((d) => d.id === "local");
    expect(local?.memoryBudgetBytes).toBeUndefined();
    expect(local?.runsOn).toEqual(["self-hosted", "linux", "x64"]);
    expect(manifest.bench).toEqual({ warmup: 5, minIterations: 50, minDurationMs: 10_000, promptTokens: 128, generateTokens: 64, timeoutMs: 1_800_000, seed: 1234 });
    const gate = manifest.gates[0];
    expect(gate?.limits).toEqual([
      { metric: "decode-latency-p90", unit: "ms", max: 40, pointer: "/gates/0/require/decode-latency-p90" },
      { metric: "ttft", unit: "ms", max: 500, pointer: "/gates/0/require/ttft" },
      { metric: "peak-memory", unit: "bytes", max: 512 * 1024 ** 2, pointer: "/gates/0/require/peak-memory" },
      { metric: "model-size", unit: "bytes", max: 256 * 1024 ** 2, pointer: "/gates/0/require/model-size" },
      { metric: "load-time", unit: "ms", max: 2000, pointer: "/gates/0/require/load-time" },
    ]);
    expect(gate?.regression).toEqual({ metric: "decode-latency-p50", worseWhen: "higher", maxWorsening: 0.05, confidence: 0.95, requireBaseline: false, pointer: "/gates/0/require/regression" });
    expect(manifest.gates[1]?.limits.find((l) => l.metric === "top-1-agreement")?.min).toBeCloseTo(0.9, 12);
    expect(manifest.gates[2]?.regression).toMatchObject({ metric: "tokens-per-second", worseWhen: "lower", maxWorsening: 0.05 });
  });

  it("resolves gate selections, defaulting to every device", () => {
    expect(manifest.gates[0]?.devices).toEqual(["rpi5", "nuc"]);
    expect(manifest.gates[0]?.variants).toEqual([
      { model: "story-lm", variant: "int4" },
      { model: "story-lm", variant: "int8" },
    ]);
    expect(manifest.gates[1]?.devices).toEqual(["local", "rpi5", "jetson-orin-nano", "nuc"]);
    expect(manifest.gates[2]?.variants).toEqual([{ model: "story-lm", variant: "fp16" }]);
    expect(manifest.gates[0]?.name).toBe("edge latency and memory");
  });

  it("normalizes the release", () => {
    expect(manifest.release).toEqual({
      channel: "stable",
      targets: [
        { device: "local", model: "story-lm", variant: "int4", pointer: "/release/targets/local" },
        { device: "rpi5", model: "story-lm", variant: "int4", pointer: "/release/targets/rpi5" },
        { device: "nuc", model: "story-lm", variant: "int8", pointer: "/release/targets/nuc" },
        { device: "jetson-orin-nano", model: "story-lm", variant: "fp16", pointer: "/release/targets/jetson-orin-nano" },
      ],
      rollout: {
        stages: [
          { percent: 5, soakMs: 86_400_000 },
          { percent: 25, soakMs: 86_400_000 },
          { percent: 100, soakMs: 0 },
        ],
        abort: { failureRate: 0.02, minDevices: 20 },
      },
      expiryMs: { root: 365 * 86_400_000, targets: 90 * 86_400_000, snapshot: 7 * 86_400_000, timestamp: 86_400_000, rollout: 7 * 86_400_000 },
    });
  });

  it("is deeply frozen", () => {
    expect(isDeepFrozen(manifest)).toBe(true);
    expect(() => {
      (manifest.devices as Manifest["devices"][number][]).push(manifest.devices[0]!);
    }).toThrow(TypeError);
  });

  it("locates JSON pointers in the source", () => {
    const text = readFileSync(example.manifest, "utf8").split("\n");
    const at = (pointer: string) => {
      const position = result.locate(pointer);
      expect(position, pointer).toBeDefined();
      return text[position!.line - 1]!.slice(position!.column - 1);
    };
    expect(at("/gates/0/require/peak-memory")).toMatch(/^\{ max: 512MiB \}/u);
    expect(at("/devices/1/memory-budget")).toBe("2GiB");
    expect(at("/release/targets/nuc")).toBe("int8");
    expect(result.locate("/gates/99")).toBeUndefined();
  });
});

describe("valid edge cases", () => {
  let repo: ReturnType<typeof makeRepo>;
  beforeAll(() => {
    repo = makeRepo();
  });
  afterAll(() => repo.cleanup());
  const load = (text: string | Uint8Array) => parseManifest(text, { file: join(repo.root, "slmops.yaml"), root: repo.root, displayPath: "slmops.yaml" });

  it("a minimal manifest gets every default", async () => {
    const result = await load("version: 1\nmodels: [ { id: m, source: models/story-lm/model.onnx } ]\n");
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.manifest).toEqual({
      version: 1,
      models: [{ id: "m", source: { written: "models/story-lm/model.onnx", resolved: join(repo.root, "models/story-lm/model.onnx") }, kind: "generic", variants: [], pointer: "/models/0" }],
      devices: [],
      bench: { warmup: 5, minIterations: 50, minDurationMs: 10_000, promptTokens: 128, generateTokens: 64, timeoutMs: 1_800_000, seed: 0 },
      gates: [],
    });
  });

  it("accepts a byte-order mark, CRLF line ends and anchors with aliases", async () => {
    const text = "\ufeffversion: 1\r\nmodels:\r\n  - id: m\r\n    source: models/story-lm/model.onnx\r\ndevices:\r\n  - id: a\r\n    runs-on: &labels [self-hosted, arm64]\r\n  - id: b\r\n    runs-on: *labels\r\n";
    const result = await load(Buffer.from(text));
    expect(result.diagnostics).toEqual([]);
    expect(result.ok && result.manifest.devices[1]?.runsOn).toEqual(["self-hosted", "arm64"]);
  });

  it("qualified variant references pick between models that share a variant id", async () => {
    const result = await load(`version: 1
models:
  - { id: a, source: models/story-lm/model.onnx, variants: [ { id: int8, passes: [ { quantize: { weights: int8 } } ] } ] }
  - { id: b, source: models/story-lm/model.onnx, variants: [ { id: int8, passes: [ { quantize: { weights: int8 } } ] } ] }
devices: [ { id: d, runs-on: [d] } ]
gates:
  - { models: [b], variants: [int8], require: { perplexity: { max: 30 } } }
release: { targets: { d: a/int8 } }
`);
    // The only gate checks b/int8, so the release of a/int8 is flagged, and nothing else.
    expect(result.diagnostics.map((d) => `${d.severity} ${d.message}`)).toEqual(["warning no gate checks `a/int8` on `d`, yet the release ships it there"]);
    if (!result.ok) return;
    expect(result.manifest.gates[0]?.variants).toEqual([{ model: "b", variant: "int8" }]);
    expect(result.manifest.release?.targets[0]).toMatchObject({ device: "d", model: "a", variant: "int8" });
    expect(result.manifest.release?.rollout.stages).toEqual([{ percent: 100, soakMs: 0 }]);
  });

  it("a regression check may require a baseline; anything but a boolean is refused at its line", async () => {
    const manifest = (value: string) => `version: 1
models: [ { id: m, source: models/story-lm/model.onnx } ]
gates:
  - require:
      regression: { metric: decode-latency-p50, max-increase: 5%, require-baseline: ${value} }
`;
    const required = await load(manifest("true"));
    expect(required.ok && required.manifest.gates[0]?.regression?.requireBaseline).toBe(true);
    const wrong = await load(manifest('"yes"'));
    expect(wrong.ok).toBe(false);
    expect(wrong.diagnostics.map((d) => [d.severity, d.line, d.pointer])).toEqual([["error", 5, "/gates/0/require/regression/require-baseline"]]);
  });

  it("accepts shares as numbers or percentages, and compound durations", async () => {
    const result = await load(`version: 1
models: [ { id: m, source: models/story-lm/model.onnx, variants: [ { id: p, passes: [ { prune: { sparsity: 0.25, scope: global } } ] } ] } ]
bench: { min-duration: 1m30s, timeout: 1h }
gates: [ { require: { top-1-agreement: { min: 0.9 }, ttft: { max: 250us } } } ]
`);
    expect(result.diagnostics).toEqual([]);
    if (!result.ok) return;
    expect(result.manifest.models[0]?.variants[0]?.passes[0]).toEqual({ kind: "prune", sparsity: 0.25, scope: "global" });
    expect(result.manifest.bench.minDurationMs).toBe(90_000);
    expect(result.manifest.bench.timeoutMs).toBe(3_600_000);
    expect(result.manifest.gates[0]?.limits).toEqual([
      { metric: "top-1-agreement", unit: "fraction", min: 0.9, pointer: "/gates/0/require/top-1-agreement" },
      { metric: "ttft", unit: "ms", max: 0.25, pointer: "/gates/0/require/ttft" },
    ]);
    expect(result.manifest.gates[0]?.name).toBe("all devices × all variants");
  });

  it("returns warnings with a manifest that loads", async () => {
    const result = await load("version: 1\nmodels: [ { id: m, source: models/story-lm/model.onnx } ]\ndevices:\n  - { id: d, runs-on: [d], allow-from-forks: true }\n");
    expect(result.ok).toBe(true);
    expect(result.diagnostics).toEqual([expect.objectContaining({ severity: "warning", code: "security/allow-from-forks", line: 4, column: 46 })]);
  });

  it("warns about a release target that no gate checks on its device", async () => {
    const result = await load(`version: 1
models: [ { id: m, source: models/story-lm/model.onnx, variants: [ { id: q, passes: [ { quantize: { weights: int8 } } ] } ] } ]
devices: [ { id: a, runs-on: [a] }, { id: b, runs-on: [b] } ]
gates: [ { devices: [a], require: { perplexity: { max: 30 } } } ]
release: { targets: { a: q, b: m/q } }
`);
    expect(result.ok).toBe(true);
    expect(result.diagnostics.map((d) => ({ line: d.line, column: d.column, severity: d.severity, message: d.message }))).toEqual([
      { line: 5, column: 32, severity: "warning", message: "no gate checks `m/q` on `b`, yet the release ships it there" },
    ]);
  });

  it("graph-optimize `all` is accepted when machine-specific output is allowed", async () => {
    const result = await load("version: 1\nmodels: [ { id: m, source: models/story-lm/model.onnx, variants: [ { id: o, passes: [ { graph-optimize: { level: all, allow-machine-specific: true } } ] } ] } ]\n");
    expect(result.diagnostics).toEqual([]);
  });
});

describe("loadManifest and loadManifestOrThrow", () => {
  let repo: ReturnType<typeof makeRepo>;
  beforeAll(() => {
    repo = makeRepo();
  });
  afterAll(() => repo.cleanup());

  it("default the root to the manifest's directory and name the file relative to the working directory", async () => {
    const file = repo.write("slmops.yaml", "version: 1\nmodels: [ { id: m, source: models/missing.onnx } ]\n");
    const result = await loadManifest(file);
    expect(result.ok).toBe(false);
    expect(result.file).toBe(file);
    const [d] = result.diagnostics;
    expect(d?.message).toBe("the source model `models/missing.onnx` of model `m` does not exist");
    expect(d?.file.endsWith("slmops.yaml")).toBe(true);
    expect(d?.file.startsWith("/")).toBe(false);
  });

  it("throws a ConfigurationError carrying every diagnostic, shown without a stack trace", async () => {
    const file = repo.write("bad.yaml", "version: 2\nmodels: []\nextra: 1\n");
    const error = await loadManifestOrThrow(file, { displayPath: "bad.yaml" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    const configuration = error as ConfigurationError;
    expect(configuration.message).toBe("bad.yaml is not a valid manifest (3 problems)");
    expect(configuration.diagnostics.map((d) => `${d.line}:${d.column}`)).toEqual(["1:10", "2:9", "3:1"]);
    const shown = describeError(error);
    expect(shown.split("\n")[0]).toBe("bad.yaml:1:10: error: `version` must be the number `1`, not `2`");
    expect(shown).not.toMatch(/\n\s+at /u);
  });

  it("refuses a root that does not exist", async () => {
    const result = await parseManifest("version: 1\nmodels: [ { id: m, source: a.onnx } ]\n", { file: "slmops.yaml", root: join(repo.root, "no-such-dir") });
    expect(result.ok).toBe(false);
    expect(result.diagnostics[0]?.code).toBe("manifest/no-root");
  });
});
