/**
 * The benchmark on the model maker's Llama-style decoder (the Optimum export
 * layout real models use) with its byte-level BPE tokenizer and eval set, and
 * an int4 variant made by the optimize package: all real files, real ONNX
 * Runtime, real child processes.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeModelProject } from "@slmops/model-maker";
import { decodeModel, encodeModel } from "@slmops/onnx";
import { normalizePass, quantizeModel } from "@slmops/optimize";
import type { QuantizePass } from "@slmops/optimize";
import { runBenchmark, validateReport } from "./index.js";
import type { BenchReport } from "./index.js";

let dir: string;
let report: BenchReport;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-story-"));
  const project = await writeModelProject(join(dir, "story"), { preset: "nano", evalSamples: 6 });
  const model = decodeModel(await readFile(project.paths.model));
  quantizeModel(model, normalizePass({ quantize: { weights: "int4", "block-size": 32 } }) as QuantizePass);
  const int4 = join(dir, "int4.onnx");
  await writeFile(int4, encodeModel(model));
  report = await runBenchmark({
    device: { id: "local", intraOpThreads: 1 },
    settings: { warmup: 1, minIterations: 2, minDurationMs: 0, promptTokens: 16, generateTokens: 8, maxEvalSequences: 6, maxEvalTokens: 48 },
    models: [
      {
        id: "story-lm",
        source: project.paths.model,
        kind: "decoder",
        eval: { dataset: project.paths.eval, tokenizer: project.paths.tokenizer },
        variants: [
          { id: "fp32", path: project.paths.model },
          { id: "int4", path: int4 },
        ],
      },
    ],
    referenceDir: join(dir, "references"),
  });
}, 180_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

describe("a story-lm decoder and its int4 variant", () => {
  it("both are measured as decoders with ttft, decode percentiles and tokens/s", () => {
    expect(() => validateReport(report)).not.toThrow();
    for (const r of report.results) {
      expect(r.status, r.failure?.message).toBe("ok");
      expect(r.kind).toBe("decoder");
      expect(r.samples?.["ttft-ms"]).toHaveLength(r.run?.iterations ?? -1);
      expect(r.samples?.["decode-ms"]).toHaveLength((r.run?.iterations ?? -1) * 8);
      expect(r.metrics["decode-latency-p99"]).toBeGreaterThanOrEqual(r.metrics["decode-latency-p50"] ?? Infinity);
      expect(r.metrics["tokens-per-second"]).toBeGreaterThan(0);
    }
  });

  it("int4 is smaller and close to, but not identical with, the fp32 reference", () => {
    const fp32 = report.results.find((r) => r.variant === "fp32");
    const int4 = report.results.find((r) => r.variant === "int4");
    expect(int4?.["model-size-bytes"]).toBeLessThan((fp32?.["model-size-bytes"] ?? 0) / 2);
    expect(fp32?.accuracy?.["kl-divergence"]).toBeLessThan(1e-6);
    expect(fp32?.accuracy?.["top-1-agreement"]).toBe(1);
    expect(int4?.accuracy?.["kl-divergence"]).toBeGreaterThan(0);
    expect(int4?.accuracy?.["top-1-agreement"]).toBeGreaterThan(0.5);
    expect(int4?.accuracy?.positions).toBe(fp32?.accuracy?.positions);
    expect(report.models[0]?.eval?.sequences).toBe(6);
    expect(report.models[0]?.eval?.private).toBe(false);
  });
});
