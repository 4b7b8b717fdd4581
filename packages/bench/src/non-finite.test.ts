/**
 * A variant whose weights are NaN (written directly, as a broken quantizer
 * or a corrupted download would leave it) costs only its own entry: it is
 * reported failed with the reason, and every other variant keeps its figures.
 * Real ONNX Runtime in real worker processes.
 */
import { join } from "node:path";
import { DataType, makeTensor } from "@slmops/onnx";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBenchmark, validateReport } from "./index.js";
import type { BenchReport } from "./index.js";
import { TINY_DECODER, decoderModel, saveModel } from "./test-support/models.js";
import { decoderProject } from "./test-support/project.js";
import type { DecoderProject } from "./test-support/project.js";

let project: DecoderProject;
let report: BenchReport;

beforeAll(async () => {
  project = await decoderProject();
  const model = decoderModel(TINY_DECODER);
  const initializers = model.graph?.initializer ?? [];
  const at = initializers.findIndex((t) => t.name === "w_out");
  const count = TINY_DECODER.heads * TINY_DECODER.headDim * TINY_DECODER.vocab;
  initializers[at] = makeTensor("w_out", DataType.FLOAT, [TINY_DECODER.heads * TINY_DECODER.headDim, TINY_DECODER.vocab], new Float32Array(count).fill(Number.NaN));
  const nan = await saveModel(join(project.dir, "nan"), "model.onnx", model);
  report = await runBenchmark({
    device: { id: "ci-box", intraOpThreads: 1 },
    settings: { warmup: 0, minIterations: 2, minDurationMs: 0, promptTokens: 8, generateTokens: 2, timeoutMs: 60_000 },
    models: [
      {
        id: "tiny",
        source: project.source,
        kind: "decoder",
        eval: { dataset: project.dataset, tokenizer: project.tokenizer },
        variants: [
          { id: "nan", path: nan },
          { id: "noisy", path: project.noisy },
        ],
      },
    ],
    referenceDir: join(project.dir, "references"),
  });
}, 120_000);

afterAll(async () => {
  await project.cleanup();
});

describe("a variant with NaN weights", () => {
  it("is one failed entry that says which figures were not numbers and why", () => {
    const nan = report.results.find((r) => r.variant === "nan");
    expect(nan?.status).toBe("failed");
    expect(nan?.failure?.kind).toBe("error");
    expect(nan?.failure?.message).toMatch(/^the variant's figures are not all finite numbers \(.*accuracy\/kl-divergence is NaN.*\)/);
    expect(nan?.failure?.message).toContain("NaN or infinite weights");
    expect(nan?.["model-sha256"]).toMatch(/^[0-9a-f]{64}$/);
  });

  it("leaves the other variants' figures, and the report is valid", () => {
    const noisy = report.results.find((r) => r.variant === "noisy");
    expect(noisy?.status).toBe("ok");
    expect(noisy?.accuracy?.["kl-divergence"]).toBeGreaterThan(0);
    expect(noisy?.metrics["tokens-per-second"]).toBeGreaterThan(0);
    expect(() => validateReport(JSON.parse(JSON.stringify(report)))).not.toThrow();
  });
});
