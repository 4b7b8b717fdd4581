import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";
import { describe, expect, it } from "vitest";
import { benchJob, LOCAL_DEVICE_ID } from "./bench-job.js";
import { variantModelPath } from "./index.js";
import { missingVariants } from "./variant-files.js";
import { edit, manifestOf, MULTI_DEVICE } from "./test-support/manifests.js";

describe("benchJob", () => {
  it("maps a device entry, the bench settings and the built variants' paths", async () => {
    const root = mkdtempSync(join(tmpdir(), "bench-job-"));
    const manifest = await manifestOf(MULTI_DEVICE, root);
    const job = benchJob(manifest, { device: "rpi5", variantsDir: "/v", runnerLabels: ["self-hosted", "rpi5"] });
    expect(job.device).toEqual({
      id: "rpi5",
      executionProviders: ["cpu"],
      intraOpThreads: 4,
      graphOptimizationLevel: "all",
      memoryBudgetBytes: 2 * 1024 ** 3,
      runnerLabels: ["self-hosted", "rpi5"],
    });
    expect(job.settings).toEqual({ warmup: 5, minIterations: 50, minDurationMs: 10_000, promptTokens: 128, generateTokens: 64, timeoutMs: 30 * 60_000, seed: 0 });
    expect(job.models).toEqual([
      {
        id: "story-lm",
        source: join(root, "models/story-lm/model.onnx"),
        kind: "decoder",
        eval: { dataset: join(root, "data/eval.jsonl"), tokenizer: join(root, "models/story-lm/tokenizer.json") },
        variants: [
          { id: "int4", path: join("/v", "story-lm", "int4", "model.onnx") },
          { id: "int8", path: join("/v", "story-lm", "int8", "model.onnx") },
        ],
      },
      { id: "classifier", source: join(root, "models/classifier/model.onnx"), kind: "encoder", variants: [{ id: "int8", path: join("/v", "classifier", "int8", "model.onnx") }] },
    ]);
  });

  it("without a device, benchmarks this machine as the ad-hoc device `local` with default settings, overrides applied", async () => {
    const job = benchJob(await manifestOf(MULTI_DEVICE), { variantsDir: "/v", overrides: { minDurationMs: 1000, minIterations: 5, warmup: 1 } });
    expect(job.device).toEqual({ id: LOCAL_DEVICE_ID });
    expect(job.settings).toMatchObject({ warmup: 1, minIterations: 5, minDurationMs: 1000, promptTokens: 128 });
  });

  it("selects models and variants (bare or model/variant)", async () => {
    const manifest = await manifestOf(MULTI_DEVICE);
    const byKey = benchJob(manifest, { variantsDir: "/v", variants: ["story-lm/int8"] });
    expect(byKey.models.map((m) => [m.id, m.variants.map((v) => v.id)])).toEqual([["story-lm", ["int8"]]]);
    const bare = benchJob(manifest, { variantsDir: "/v", variants: ["int8"] });
    expect(bare.models.map((m) => [m.id, m.variants.map((v) => v.id)])).toEqual([["story-lm", ["int8"]], ["classifier", ["int8"]]]);
    const model = benchJob(manifest, { variantsDir: "/v", model: "classifier" });
    expect(model.models.map((m) => m.id)).toEqual(["classifier"]);
  });

  it("a device's private eval set replaces the model's, marked private", async () => {
    const text = edit(MULTI_DEVICE, "    threads: 4\n", "    threads: 4\n    private-eval-dataset: /srv/private.jsonl\n");
    const job = benchJob(await manifestOf(text), { device: "rpi5", variantsDir: "/v" });
    expect(job.models[0]?.eval).toMatchObject({ dataset: "/srv/private.jsonl", private: true });
  });

  it("names what exists when a device, model or variant is unknown", async () => {
    const manifest = await manifestOf(MULTI_DEVICE);
    expect(() => benchJob(manifest, { device: "rpi4", variantsDir: "/v" })).toThrow(/no device `rpi4` in the manifest; its devices are `hosted`, `rpi5`, `nuc`, `sandbox`/);
    expect(() => benchJob(manifest, { model: "story", variantsDir: "/v" })).toThrow(ConfigurationError);
    expect(() => benchJob(manifest, { model: "classifier", variants: ["int4"], variantsDir: "/v" })).toThrow(
      /no variant `int4` in the manifest for model `classifier`; its variants are `classifier\/int8`/,
    );
  });

  it("refuses ids that cannot be directory names", () => {
    expect(() => variantModelPath("/v", "..", "int8")).toThrow(ConfigurationError);
    expect(() => variantModelPath("/v", "m", "a/b")).toThrow(ConfigurationError);
  });

  it("finds the variants that were not built", async () => {
    const dir = mkdtempSync(join(tmpdir(), "variants-"));
    mkdirSync(join(dir, "story-lm", "int4"), { recursive: true });
    writeFileSync(join(dir, "story-lm", "int4", "model.onnx"), "x");
    mkdirSync(join(dir, "story-lm", "int8", "model.onnx"), { recursive: true }); // a directory, not a model
    const job = benchJob(await manifestOf(MULTI_DEVICE), { variantsDir: dir, model: "story-lm" });
    expect(missingVariants(job)).toEqual([{ model: "story-lm", variant: "int8", path: join(dir, "story-lm", "int8", "model.onnx") }]);
  });
});
