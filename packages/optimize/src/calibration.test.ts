import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigurationError } from "@slmops/diagnostics";
import { encodeModel, type ModelProto } from "@slmops/onnx";
import { hessianGroups } from "./calibration.js";
import { loadModel } from "./model-io.js";
import { normalizePass } from "./pass-options.js";
import { optimizeModel } from "./pipeline.js";
import { quantizeModelCalibrated, type QuantizePass } from "./quantize-pass.js";
import { tokens, writeDecoder, type DecoderFile } from "./test-support/decoder.js";
import { singleMatMul } from "./test-support/models.js";
import { weightLike } from "./test-support/random.js";

let dir: string;
let decoder: DecoderFile;
const gptq = normalizePass({ quantize: { weights: "int4", "block-size": 32, method: "gptq" } }, "passes[0]") as QuantizePass;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-calibration-"));
  decoder = await writeDecoder(join(dir, "nano"), "nano");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const calibration = () => ({ sequences: [0, 1, 2].map((s) => tokens(48, decoder.config.vocab, 100 + s)), source: "test text" });

describe("calibration for method: gptq", () => {
  it("splits the Hessians into groups that fit the budget, one too large for it alone in its own", () => {
    const groups = hessianGroups(
      [
        { name: "a", features: 64 },
        { name: "b", features: 64 },
        { name: "c", features: 256 },
        { name: "d", features: 64 },
      ],
      2 * 64 * 64 * 8,
    );
    expect(groups.map((g) => g.map((a) => a.name))).toEqual([["a", "b"], ["c"], ["d"]]);
  });

  it("gives the same weights whether the Hessians are collected in one group or one activation at a time", async () => {
    const quantize = async (budgetBytes: number) => {
      const model: ModelProto = await loadModel(decoder.path);
      const events: string[] = [];
      await quantizeModelCalibrated(model, gptq, calibration(), (e) => events.push(e.tensor), { budgetBytes });
      return { bytes: Buffer.from(encodeModel(model)), events };
    };
    const whole = await quantize(1 << 30);
    const piecewise = await quantize(1);
    expect(piecewise.bytes.equals(whole.bytes)).toBe(true);
    // Progress says when the calibration text runs: once per group.
    const runs = (events: string[]) => events.filter((e) => e.startsWith("calibration text")).length;
    expect(runs(piecewise.events)).toBeGreaterThan(runs(whole.events));
    expect(whole.events).toContain("calibration text through ONNX Runtime");
  }, 120_000);

  it("refuses gptq without calibration text before any work, and on a model that is not a decoder, each with one clear message", async () => {
    const refused = await optimizeModel({ source: decoder.path, outDir: join(dir, "none"), passes: [{ quantize: { weights: "int4", method: "gptq" } }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConfigurationError);
    expect((refused as Error).message).toMatch(/^passes\[0\]\.quantize\.method: gptq calibrates on text, and none was given/);

    const plain = join(dir, "matmul.onnx");
    await writeFile(plain, encodeModel(singleMatMul(weightLike(64 * 32, 3), 64, 32)));
    const notDecoder = await optimizeModel({ source: plain, outDir: join(dir, "plain"), passes: [{ quantize: { weights: "int4", method: "gptq" } }], calibration: calibration() }).catch((e: unknown) => e);
    expect(notDecoder).toBeInstanceOf(ConfigurationError);
    expect((notDecoder as Error).message).toContain("GPTQ calibrates on text, so it needs a decoder");

    const empty = await optimizeModel({ source: decoder.path, outDir: join(dir, "empty"), passes: [{ quantize: { weights: "int4", method: "gptq" } }], calibration: { sequences: [[]], source: "data/empty.jsonl" } }).catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(ConfigurationError);
    expect((empty as Error).message).toContain("the calibration text (data/empty.jsonl) has no tokens");
  }, 120_000);
});
