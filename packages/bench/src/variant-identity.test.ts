/**
 * One identity for a built variant across packages: the digest optimize
 * records for a variant with external data is the `model-sha256` bench
 * reports for it, the source's digest is the report's `source-sha256`, and
 * the files pass a device's check. Real model, real optimize, real ONNX
 * Runtime in a child process.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeModelProject } from "@slmops/model-maker";
import { decodeModel, writeModel } from "@slmops/onnx";
import { optimizeModel, type VariantRecord } from "@slmops/optimize";
import { verifyVariantFiles } from "@slmops/variant-identity";
import { runBenchmark, SOURCE_VARIANT_ID, type BenchReport } from "./index.js";

let dir: string;
let record: VariantRecord;
let report: BenchReport;
let variantDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-identity-"));
  const project = await writeModelProject(join(dir, "story"), { preset: "nano", evalSamples: 2 });
  const source = join(dir, "source", "model.onnx");
  await mkdir(join(dir, "source"));
  await writeModel(source, decodeModel(await readFile(project.paths.model)), { externalData: true });
  variantDir = join(dir, "variants", "story-lm", "int8");
  record = await optimizeModel({ source, passes: [{ quantize: { weights: "int8" } }], outDir: variantDir, externalData: true });
  report = await runBenchmark({
    device: { id: "local", intraOpThreads: 1 },
    settings: { warmup: 0, minIterations: 1, minDurationMs: 0, promptTokens: 4, generateTokens: 2 },
    models: [{ id: "story-lm", source, kind: "decoder", variants: [{ id: "int8", path: join(variantDir, "model.onnx") }] }],
    referenceDir: join(dir, "references"),
  });
}, 180_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

describe("a built variant's identity", () => {
  it("has its model and external data, and a digest that is not the .onnx file's sha256", async () => {
    expect(record.output.files.map((f) => f.name)).toEqual(["model.onnx", "model.onnx.data"]);
    expect(record.source.files.map((f) => f.name)).toEqual(["model.onnx", "model.onnx.data"]);
    const onnx = createHash("sha256").update(await readFile(join(variantDir, "model.onnx"))).digest("hex");
    expect(record.output.digest).not.toBe(onnx);
  });

  it("is what bench reports: optimize's digest is the variant's model-sha256, the source's is source-sha256", () => {
    const int8 = report.results.find((r) => r.variant === "int8");
    expect(int8?.status, int8?.failure?.message).toBe("ok");
    expect(int8?.["model-sha256"]).toBe(record.output.digest);
    expect(report.models[0]?.["source-sha256"]).toBe(record.source.digest);
    expect(report.results.find((r) => r.variant === SOURCE_VARIANT_ID)?.["model-sha256"]).toBe(record.source.digest);
  });

  it("is what a device verifies the files against", async () => {
    await expect(verifyVariantFiles(variantDir, record.output)).resolves.toBeDefined();
    await expect(verifyVariantFiles(variantDir, record.source)).rejects.toThrow(/not the one expected/);
  });
});
