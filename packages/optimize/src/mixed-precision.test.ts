/**
 * Mixed precision: a quantize pass's `overrides` give the MatMuls they
 * select (by name or pattern) other settings, and the variant's record says
 * which nodes got which.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigurationError } from "@slmops/diagnostics";
import { PRESETS, makeModel } from "@slmops/model-maker";
import type { ModelProto, NodeProto } from "@slmops/onnx";
import { compareLogits } from "./metrics.js";
import { loadModel } from "./model-io.js";
import { normalizePass, type PassSpec } from "./pass-options.js";
import { optimizeModel, type VariantRecord } from "./pipeline.js";
import { quantizeModel, type QuantizePass, type QuantizeStats } from "./quantize-pass.js";
import { prefillLogitsOfEach } from "./test-support/decoder.js";
import { exampleDecoder, type StructuredDecoder } from "./test-support/structured.js";

let dir: string;
let example: StructuredDecoder;
let reference: Float32Array;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-mixed-"));
  example = await exampleDecoder(8, 96);
  reference = await prefillLogitsOfEach(example.path, example.config, example.sequences);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const attribute = (n: NodeProto, name: string): number | undefined => {
  const a = n.attribute.find((x) => x.name === name);
  return a?.i === undefined ? undefined : Number(a.i);
};

const nbitsNodes = (model: ModelProto) => model.graph!.node.filter((n) => n.opType === "MatMulNBits");

async function build(name: string, pass: PassSpec, extra: { calibration?: boolean } = {}): Promise<{ record: VariantRecord; model: ModelProto; kl: number }> {
  const record = await optimizeModel({
    source: example.path,
    outDir: join(dir, name),
    passes: [pass],
    ...(extra.calibration ? { calibration: { sequences: example.calibration, source: "calibration text" } } : {}),
  });
  const kl = compareLogits(reference, await prefillLogitsOfEach(record.output.path, example.config, example.sequences), example.config.vocab).klDivergence;
  return { record, model: await loadModel(record.output.path), kl };
}

const HEAD = "/lm_head/MatMul";
const isOverridden = (name: string) => name === HEAD || name.startsWith("/model/layers.0/");

describe("quantize overrides (mixed precision)", () => {
  it("quantizes what each override selects with its settings and the rest with the pass's, and records which nodes got which", async () => {
    const { record, model } = await build("mixed", { quantize: { weights: "int4", overrides: [{ nodes: [HEAD, "/model/layers.0/**"], weights: "int8" }] } });
    const nodes = nbitsNodes(model);
    const overridden = nodes.filter((n) => isOverridden(n.name!));
    expect(overridden.length).toBe(8); // the head and layer 0's seven projections
    for (const n of nodes) {
      const eight = isOverridden(n.name!);
      expect(attribute(n, "bits"), n.name).toBe(eight ? 8 : 4);
      // int8 is symmetric by default (no zero points), int4 keeps them; beside 4-bit nodes, the CPU's fast level is the 8-bit nodes' default too.
      expect(n.input.length, n.name).toBe(eight ? 3 : 4);
      expect(attribute(n, "accuracy_level"), n.name).toBe(4);
    }
    const pass = record.passes[0]!;
    expect(pass.description).toBe(
      `quantize(int4, block 32, zero points, rtn, accuracy int8 (default for cpu); ${HEAD} /model/layers.0/**: int8, block 32, symmetric, rtn, accuracy int8 (default for cpu beside 4-bit weights))`,
    );
    const mixed = (pass.stats as QuantizeStats).mixed!;
    expect(mixed.map((m) => m.settings)).toEqual([
      "int4, block 32, zero points, rtn, accuracy int8 (default for cpu)",
      `${HEAD} /model/layers.0/**: int8, block 32, symmetric, rtn, accuracy int8 (default for cpu beside 4-bit weights)`,
    ]);
    expect([...mixed[1]!.nodes].sort()).toEqual(overridden.map((n) => n.name).sort());
    expect(mixed[0]!.nodes.length + mixed[1]!.nodes.length).toBe(nodes.length);
  }, 120_000);

  it("keeps an 8-bit pass's own nodes at the exact level when only an override is 4-bit", async () => {
    const { model } = await build("int8-with-int4", { quantize: { weights: "int8", overrides: [{ nodes: ["/model/layers.0/**"], weights: "int4" }] } });
    for (const n of nbitsNodes(model)) {
      const four = n.name!.startsWith("/model/layers.0/");
      expect(attribute(n, "bits"), n.name).toBe(four ? 4 : 8);
      expect(attribute(n, "accuracy_level"), n.name).toBe(four ? 4 : undefined);
    }
  }, 120_000);

  it("an 8-bit LM head cuts int4's KL against fp32, at a size between int4's and int8's", async () => {
    const int4 = await build("int4", { quantize: { weights: "int4" } });
    const head8 = await build("int4-head8", { quantize: { weights: "int4", overrides: [{ nodes: [HEAD], weights: "int8" }] } });
    const int8 = await build("int8", { quantize: { weights: "int8" } });
    const table = `int4 ${int4.kl}, int4 + 8-bit head ${head8.kl}, int8 ${int8.kl}`;
    expect(head8.kl, table).toBeLessThan(int4.kl * 0.1); // measured: 0.129 → 0.0016
    expect(head8.kl, table).toBeGreaterThan(int8.kl);
    expect(head8.record.output.bytes).toBeGreaterThan(int4.record.output.bytes);
    expect(head8.record.output.bytes).toBeLessThan(int8.record.output.bytes);
  }, 180_000);

  it("calibrates only the MatMuls a gptq override selects, and asks for text for them", async () => {
    const pass: PassSpec = { quantize: { weights: "int4", overrides: [{ nodes: [HEAD], method: "gptq" }] } };
    await expect(optimizeModel({ source: example.path, outDir: join(dir, "no-text"), passes: [pass] })).rejects.toThrow(/^passes\[0\]\.quantize\.overrides\[0\]\.method: gptq calibrates on text/);
    const rtn = await build("rtn-again", { quantize: { weights: "int4" } });
    const mixed = await build("gptq-head", pass, { calibration: true });
    const weights = (m: ModelProto) => new Map(m.graph!.initializer.map((t) => [t.name, Buffer.from(t.rawData ?? new Uint8Array()).toString("base64")]));
    const [a, b] = [weights(rtn.model), weights(mixed.model)];
    const head = (m: ModelProto) => m.graph!.node.find((n) => n.name === HEAD)!.input[1]!;
    expect(a.get(head(rtn.model))).not.toBe(b.get(head(mixed.model)));
    for (const n of nbitsNodes(rtn.model).filter((x) => x.name !== HEAD)) {
      expect(b.get(n.input[1]!), n.name).toBe(a.get(n.input[1]!));
    }
    expect(mixed.kl).toBeLessThan(rtn.kl);
  }, 180_000);
});

describe("node selection", () => {
  const pass = (options: Record<string, unknown>) => normalizePass({ quantize: { weights: "int4", ...options } }) as QuantizePass;
  const model = () => makeModel(PRESETS.nano);
  const failure = (options: Record<string, unknown>): ConfigurationError => {
    try {
      quantizeModel(model(), pass(options));
    } catch (error) {
      if (error instanceof ConfigurationError) return error;
      throw error;
    }
    throw new Error("expected a ConfigurationError");
  };

  it("takes patterns: `*` within a part, `**` across parts, braces for either", () => {
    const m = model();
    quantizeModel(m, pass({ "exclude-nodes": ["/model/layers.*/mlp/**"], overrides: [{ nodes: ["/model/layers.{0,1}/self_attn/[qk]_proj/MatMul"], weights: "int8" }] }));
    const kept = m.graph!.node.filter((n) => n.opType === "MatMul" && n.name!.includes("_proj/"));
    expect(kept.map((n) => n.name).every((name) => /\/mlp\//.test(name!))).toBe(true);
    expect(kept.length).toBe(PRESETS.nano.layers * 3);
    const eight = nbitsNodes(m).filter((n) => attribute(n, "bits") === 8).map((n) => n.name).sort();
    expect(eight).toEqual(["/model/layers.0/self_attn/k_proj/MatMul", "/model/layers.0/self_attn/q_proj/MatMul", "/model/layers.1/self_attn/k_proj/MatMul", "/model/layers.1/self_attn/q_proj/MatMul"]);
  });

  it("refuses a name or pattern that selects no MatMul, saying which and showing the model's names", () => {
    const typo = failure({ "exclude-nodes": ["/lm_head/Matmul"] });
    expect(typo.message).toMatch(/exclude-nodes `\/lm_head\/Matmul` selects no MatMul/);
    expect(typo.message).toMatch(/`\/model\/layers\.0\/self_attn\/q_proj\/MatMul`/);
    expect(failure({ overrides: [{ nodes: ["/model/layers.9/**"], weights: "int8" }] }).message).toMatch(/overrides\[0\] `\/model\/layers\.9\/\*\*` selects no MatMul/);
    // The first override that selects a node takes it: a later one that only selects the same nodes does nothing, which is refused.
    // A pattern another pattern of the same list also covers is no mistake.
    expect(() => quantizeModel(model(), pass({ "exclude-nodes": ["/model/layers.0/**", "/model/layers.0/mlp/down_proj/MatMul"] }))).not.toThrow();
    const shadowed = failure({ overrides: [{ nodes: [HEAD], weights: "int8" }, { nodes: ["/lm_head/*"], "block-size": 128 }] });
    expect(shadowed.message).toMatch(/overrides\[1\] `\/lm_head\/\*` selects no MatMul of the model \(an earlier override or exclude-nodes may have taken them\)/);
  });

  it("refuses a pattern whose braces expand past the bound, before matching any node with it", () => {
    expect(failure({ overrides: [{ nodes: ["/model/layers.{1..99999999}/**"], weights: "int8" }] }).message).toMatch(
      /overrides\[0\]\.nodes: `\/model\/layers\.\{1\.\.99999999\}\/\*\*` expands to more than 256 alternatives/,
    );
    expect(() => quantizeModel(model(), pass({ overrides: [{ nodes: ["/model/layers.{0..3}/mlp/**"], weights: "int8" }] }))).not.toThrow();
  });

  it("checks an override's options as the pass's", () => {
    expect(() => pass({ overrides: [{ nodes: [] }] })).toThrow(/overrides\[0\]\.nodes must name at least one node/);
    expect(() => pass({ overrides: [{ nodes: [HEAD], bits: 8 }] })).toThrow(/overrides\[0\]: unknown option `bits`/);
    expect(() => pass({ overrides: [{ nodes: [HEAD], "block-size": 48 }] })).toThrow(/overrides\[0\]\.block-size must be 16, 32, 64 or 128/);
    expect(() => normalizePass({ quantize: { weights: "int8", activations: "dynamic", overrides: [{ nodes: [HEAD] }] } })).toThrow(/overrides applies to block-wise/);
  });
});
