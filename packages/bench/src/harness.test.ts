/**
 * End-to-end: real ONNX Runtime sessions in real child processes on real
 * model files. No figure here is timed against a threshold; the tests check
 * counts, structure, failure handling and accuracy arithmetic.
 */
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isConfigurationError } from "@slmops/diagnostics";
import { SOURCE_VARIANT_ID, formatReportTable, isSourceResult, readReport, runBenchmark, validateReport, writeReport } from "./index.js";
import type { BenchProgress, BenchReport, BenchSettings } from "./index.js";
import { failingModel, hangingModel, matmulModel, saveModel, saveModelWithExternalData } from "./test-support/models.js";
import { decoderProject } from "./test-support/project.js";
import type { DecoderProject } from "./test-support/project.js";

const QUICK: BenchSettings = { warmup: 1, minIterations: 3, minDurationMs: 0, promptTokens: 12, generateTokens: 6, timeoutMs: 60_000 };

let project: DecoderProject;
beforeAll(async () => {
  project = await decoderProject();
});
afterAll(async () => {
  await project.cleanup();
});

function result(report: BenchReport, variant: string) {
  const r = report.results.find((x) => x.variant === variant);
  if (!r) throw new Error(`no result for ${variant}`);
  return r;
}

describe("decoder benchmark", () => {
  let report: BenchReport;
  const progress: BenchProgress[] = [];

  beforeAll(async () => {
    report = await runBenchmark({
      device: { id: "ci-box", intraOpThreads: 1, runnerLabels: ["self-hosted", "linux"], memoryBudgetBytes: 64 * 1024 ** 3 },
      settings: QUICK,
      models: [
        {
          id: "tiny",
          source: project.source,
          kind: "decoder",
          eval: { dataset: project.dataset, tokenizer: project.tokenizer, private: true },
          variants: [
            { id: "fp32", path: project.source },
            { id: "noisy", path: project.noisy },
          ],
        },
      ],
      referenceDir: join(project.dir, "references"),
      onProgress: (p) => progress.push(p),
    });
  }, 120_000);

  it("measures ttft per generation and every decode step, with contexts", () => {
    const r = result(report, "fp32");
    expect(r.status).toBe("ok");
    expect(r.kind).toBe("decoder");
    const iterations = r.run?.iterations ?? 0;
    expect(iterations).toBeGreaterThanOrEqual(QUICK.minIterations);
    expect(r.samples?.["ttft-ms"]).toHaveLength(iterations);
    expect(r.samples?.["decode-ms"]).toHaveLength(iterations * QUICK.generateTokens);
    // Context of step k is prompt + k, repeated for each generation.
    const oneGeneration = Array.from({ length: QUICK.generateTokens }, (_, k) => QUICK.promptTokens + k);
    expect(r.samples?.["decode-context"]).toEqual(Array.from({ length: iterations }, () => oneGeneration).flat());
    expect(r["decode-latency-ms"]?.count).toBe(iterations * QUICK.generateTokens);
    expect(r.metrics["decode-latency-p50"]).toBe(r["decode-latency-ms"]?.p50);
    expect(r.metrics["tokens-per-second"]).toBeGreaterThan(0);
    const buckets = r["decode-latency-by-context"]?.buckets ?? [];
    expect(buckets.reduce((n, b) => n + b.count, 0)).toBe(iterations * QUICK.generateTokens);
    expect(buckets[0]?.["context-from"]).toBe(QUICK.promptTokens);
    expect(buckets.at(-1)?.["context-to"]).toBe(QUICK.promptTokens + QUICK.generateTokens - 1);
  });

  it("benchmarks the fp32 source as a row of its own, first, the same way as a variant", () => {
    const source = report.results[0];
    expect(source?.variant).toBe(SOURCE_VARIANT_ID);
    expect(isSourceResult(source!)).toBe(true);
    expect(source?.status).toBe("ok");
    expect(source?.["model-sha256"]).toBe(report.models[0]?.["source-sha256"]);
    expect(source?.samples?.["decode-ms"]).toHaveLength((source?.run?.iterations ?? -1) * QUICK.generateTokens);
    expect(source?.metrics["peak-memory"]).toBeGreaterThan(0);
    // The reference is the source itself: no accuracy against itself, and no accuracy error either.
    expect(source?.accuracy).toBeUndefined();
    expect(source?.["accuracy-error"]).toBeUndefined();
    expect(report.results.map((r) => r.variant)).toEqual([SOURCE_VARIANT_ID, "fp32", "noisy"]);
    // Its figures are measured, not copied from the variant with the same file.
    expect(source?.samples?.["decode-ms"]).not.toEqual(result(report, "fp32").samples?.["decode-ms"]);
  });

  it("records load times, memory from the OS, size and hash", () => {
    const r = result(report, "fp32");
    expect(r.load?.["cold-ms"]).toBeGreaterThan(0);
    expect(r.load?.["warm-ms"]).toBeGreaterThan(0);
    expect(r.memory?.["peak-rss-bytes"]).toBeGreaterThanOrEqual(r.memory?.["baseline-rss-bytes"] ?? Infinity);
    expect(r.memory?.["within-budget"]).toBe(true);
    expect(r["model-sha256"]).toMatch(/^[0-9a-f]{64}$/);
    expect(r["model-size-bytes"]).toBeGreaterThan(1000);
  });

  it("compares accuracy with the fp32 reference: itself exactly, a perturbed variant not", () => {
    const same = result(report, "fp32").accuracy;
    const noisy = result(report, "noisy").accuracy;
    expect(same?.["kl-divergence"]).toBeLessThan(1e-6);
    expect(same?.["top-1-agreement"]).toBe(1);
    expect(same?.perplexity).toBeCloseTo(same?.["reference-perplexity"] ?? NaN, 4);
    expect(noisy?.["kl-divergence"]).toBeGreaterThan(1e-3);
    expect(noisy?.["kl-divergence-stderr"]).toBeGreaterThan(0);
    expect(noisy?.["top-1-agreement"]).toBeLessThan(1);
    expect(noisy?.["reference-perplexity"]).toBeCloseTo(same?.["reference-perplexity"] ?? NaN, 4);
    // Every eval character but the first of each line is one position.
    expect(same?.positions).toBe(report.models[0]?.eval ? report.models[0].eval.tokens - report.models[0].eval.sequences : NaN);
  });

  it("identifies the eval set by hash only, and fingerprints the device", async () => {
    const model = report.models[0];
    expect(model?.eval?.private).toBe(true);
    expect(model?.eval?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(model?.reference?.status).toBe("computed");
    expect(JSON.stringify(report)).not.toContain(project.dir);
    const fp = report.device.fingerprint;
    expect(fp["runner-labels"]).toEqual(["self-hosted", "linux"]);
    expect(fp["execution-providers"]).toContain("cpu");
    expect(fp["logical-cores"]).toBeGreaterThan(0);
    expect(fp["node-version"]).toBe(process.versions.node);
  });

  it("reports progress with the worker's pid", () => {
    const phases = new Set(progress.map((p) => p.phase));
    for (const phase of ["reference", "load", "warmup", "measure", "accuracy", "done"]) expect(phases).toContain(phase);
    expect(progress.find((p) => p.phase === "measure")?.pid).toBeGreaterThan(0);
    // Two variants and the fp32 source's own row.
    expect(progress.every((p) => p.total === 3)).toBe(true);
  });

  it("validates against the schema, survives a write/read round trip and prints as a table", async () => {
    expect(() => validateReport(report)).not.toThrow();
    const path = join(project.dir, "report.json");
    await writeReport(path, report);
    expect(await readReport(path)).toEqual(report);
    expect((await readdir(project.dir)).filter((f) => f.includes(".tmp"))).toEqual([]);
    const table = formatReportTable(report);
    expect(table).toContain("tiny/fp32");
    expect(table).toContain("tiny/noisy");
    expect(table.split("\n").find((l) => l.startsWith("variant"))).toMatch(/^variant\s+status\s+iters\s+size.*p10–p90.*vs fp32/);
    expect(table).toContain("tok/s: decode tokens per second: generated tokens ÷ their total decode time");
    expect(table).toMatch(/run rules: 1 warm-up, then at least 3 iterations/);
    const noisyLine = table.split("\n").find((l) => l.startsWith("tiny/noisy")) ?? "";
    expect(noisyLine).toMatch(/\d+\.\d\d× fp32 speed.*, 1\.00× fp32 size, \d+\.\d\d× fp32 memory/);
    expect(table.split("\n").find((l) => l.startsWith("tiny/fp32 source"))).toContain("(fp32 source)");
  });

  it("a device without the fp32 source uses the stored reference by the source's hash", async () => {
    const base = {
      device: { id: "small" },
      settings: { ...QUICK, minIterations: 1, warmup: 0 },
      referenceDir: join(project.dir, "references"),
    };
    const eval_ = { dataset: project.dataset, tokenizer: project.tokenizer };
    const sourceSha256 = report.models[0]?.["source-sha256"] ?? "";
    const small = await runBenchmark({
      ...base,
      models: [{ id: "tiny", source: join(project.dir, "absent.onnx"), sourceSha256, eval: eval_, variants: [{ id: "noisy", path: project.noisy }] }],
    });
    expect(small.models[0]).toMatchObject({ "source-sha256": sourceSha256, reference: { status: "reused" } });
    // No source file on this device: no fp32 row, the variants alone.
    expect(small.results.map((r) => r.variant)).toEqual(["noisy"]);
    expect(result(small, "noisy").accuracy?.["kl-divergence"]).toBeCloseTo(result(report, "noisy").accuracy?.["kl-divergence"] ?? NaN, 9);

    const unknown = await runBenchmark({
      ...base,
      models: [{ id: "tiny", source: join(project.dir, "absent.onnx"), sourceSha256: "0".repeat(64), eval: eval_, variants: [{ id: "noisy", path: project.noisy }] }],
    });
    expect(unknown.models[0]?.reference?.status).toBe("failed");
    expect(result(unknown, "noisy")).toMatchObject({ status: "ok", "accuracy-error": expect.stringMatching(/no usable stored reference .* the fp32 source model cannot be read/) });

    await expect(
      runBenchmark({ ...base, models: [{ id: "tiny", source: project.source, sourceSha256: "0".repeat(64), eval: eval_, variants: [] }] }),
    ).rejects.toThrow(/model `tiny`: the source .* has sha256 [0-9a-f]{64}, not the 0{64} given/);
  }, 120_000);

  it("reuses a stored reference, and recomputes one that was tampered with", async () => {
    const referenceDir = join(project.dir, "references");
    const run = () =>
      runBenchmark({
        device: { id: "ci-box" },
        settings: { ...QUICK, minIterations: 1, warmup: 0 },
        models: [{ id: "tiny", source: project.source, eval: { dataset: project.dataset, tokenizer: project.tokenizer }, variants: [{ id: "noisy", path: project.noisy }] }],
        referenceDir,
      });
    const again = await run();
    expect(again.models[0]?.reference?.status).toBe("reused");
    expect(result(again, "noisy").accuracy?.["kl-divergence"]).toBeCloseTo(result(report, "noisy").accuracy?.["kl-divergence"] ?? NaN, 9);

    const [file] = await readdir(referenceDir);
    const path = join(referenceDir, file as string);
    const bytes = await readFile(path);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0xff;
    await writeFile(path, bytes);
    const recomputed = await run();
    expect(recomputed.models[0]?.reference).toEqual({ status: "computed", message: expect.stringMatching(/does not match its sha256/) });
    expect(result(recomputed, "noisy").accuracy?.["kl-divergence"]).toBeCloseTo(result(report, "noisy").accuracy?.["kl-divergence"] ?? NaN, 9);
  }, 120_000);
});

describe("run rules in the report", () => {
  it("honours min-iterations and min-duration and reports count and elapsed time", async () => {
    const path = await saveModel(join(project.dir, "mm"), "model.onnx", matmulModel(64, 4));
    const report = await runBenchmark({
      device: { id: "local" },
      settings: { warmup: 2, minIterations: 25, minDurationMs: 0, promptTokens: 8, generateTokens: 0 },
      models: [{ id: "mm", source: path, variants: [{ id: "a", path }] }],
    });
    const byCount = result(report, "a");
    expect(byCount.run).toMatchObject({ warmup: 2, iterations: 25, "stopped-by": "rules" });
    expect(byCount.samples?.["latency-ms"]).toHaveLength(25);

    const longer = await runBenchmark({
      device: { id: "local" },
      settings: { warmup: 0, minIterations: 3, minDurationMs: 400, promptTokens: 8, generateTokens: 0 },
      models: [{ id: "mm", source: path, variants: [{ id: "a", path }] }],
    });
    const byTime = result(longer, "a");
    expect(byTime.run?.["elapsed-ms"]).toBeGreaterThanOrEqual(400);
    expect(byTime.run?.iterations).toBeGreaterThan(3);
    expect(byTime.samples?.["latency-ms"]).toHaveLength(byTime.run?.iterations ?? -1);
    expect(byTime.metrics["latency-p90"]).toBeGreaterThanOrEqual(byTime.metrics["latency-p50"] ?? Infinity);
    expect(byTime.metrics.throughput).toBeCloseTo(((byTime.run?.iterations ?? 0) * 1000) / (byTime.run?.["elapsed-ms"] ?? 1), 6);
    expect(longer.settings["min-duration-ms"]).toBe(400);
  }, 60_000);

  it("counts external data in the model size", async () => {
    const path = await saveModelWithExternalData(join(project.dir, "ext"), "model.onnx", matmulModel(64, 4));
    const report = await runBenchmark({
      device: { id: "local" },
      settings: { warmup: 0, minIterations: 1, minDurationMs: 0, promptTokens: 8, generateTokens: 0 },
      models: [{ id: "mm", source: path, variants: [{ id: "ext", path }] }],
    });
    const r = result(report, "ext");
    expect(r.status).toBe("ok");
    expect(r.files?.map((f) => f.name)).toEqual(["model.onnx", "model.onnx.data"]);
    expect(r["model-size-bytes"]).toBe((r.files ?? []).reduce((n, f) => n + f.bytes, 0));
    expect(r["model-size-bytes"]).toBeGreaterThan(2 * 64 * 64 * 4);
  }, 60_000);
});

describe("failures are entries in the report, not dead jobs", () => {
  it("a model whose run fails, a hung model and a crashed worker each fail alone", async () => {
    const dir = join(project.dir, "bad");
    const failing = await saveModel(dir, "failing.onnx", failingModel());
    const hanging = await saveModel(dir, "hanging.onnx", hangingModel());
    const good = await saveModel(dir, "good.onnx", matmulModel(32, 2));
    const crashing = await saveModel(dir, "crashing.onnx", matmulModel(32, 2));
    const started = Date.now();
    const report = await runBenchmark({
      device: { id: "local" },
      settings: { warmup: 0, minIterations: 2, minDurationMs: 60_000, promptTokens: 4, generateTokens: 0, timeoutMs: 15_000 },
      models: [
        {
          id: "m",
          source: good,
          variants: [
            { id: "failing", path: failing },
            { id: "hanging", path: hanging },
            { id: "crashing", path: crashing },
            { id: "missing", path: join(dir, "nope.onnx") },
          ],
        },
      ],
      onProgress: (p) => {
        // A native crash of the worker mid-run, as a segfault in ONNX Runtime would end it.
        if (p.variant === "crashing" && p.phase === "measure" && p.pid) process.kill(p.pid, "SIGSEGV");
      },
    });
    expect(Date.now() - started).toBeLessThan(50_000);
    const failing_ = result(report, "failing");
    expect(failing_.status).toBe("failed");
    expect(failing_.failure).toMatchObject({ kind: "error", "exit-code": 0 });
    expect(failing_.failure?.message).toMatch(/ONNX Runtime failed to run the model/);
    expect(failing_["model-size-bytes"]).toBeGreaterThan(0);

    expect(result(report, "hanging").failure).toMatchObject({ kind: "timeout", signal: "SIGKILL", message: "did not finish within 15s and was killed" });

    const crashed = result(report, "crashing").failure;
    expect(crashed).toMatchObject({ kind: "crash", signal: "SIGSEGV" });
    expect(crashed?.message).toMatch(/killed by SIGSEGV/);

    expect(result(report, "missing").failure).toMatchObject({ kind: "configuration", message: expect.stringMatching(/cannot read model .*nope\.onnx/) });
    expect(() => validateReport(report)).not.toThrow();
    expect(formatReportTable(report)).toMatch(/m\/hanging\s+FAILED \(timeout\)/);
  }, 90_000);

  it("a model that is not what the manifest says, or not a model, fails with the reason", async () => {
    const dir = join(project.dir, "wrong");
    const matmul = await saveModel(dir, "mm.onnx", matmulModel(8, 1));
    const junk = join(dir, "junk.onnx");
    await writeFile(junk, "this is not a protobuf");
    const report = await runBenchmark({
      device: { id: "local" },
      settings: { ...QUICK, minIterations: 1 },
      models: [{ id: "m", source: matmul, kind: "decoder", variants: [{ id: "mm", path: matmul }, { id: "junk", path: junk }] }],
    });
    expect(result(report, "mm").failure).toMatchObject({ kind: "error", message: expect.stringMatching(/mm\.onnx is declared a decoder but lacks the Optimum decoder inputs/) });
    expect(result(report, "junk").failure).toMatchObject({ kind: "configuration", message: expect.stringMatching(/junk\.onnx is not a valid ONNX model/) });
  }, 60_000);

  it("a worker that cannot start is a crash with its stderr, not a hang", async () => {
    const path = await saveModel(join(project.dir, "noworker"), "model.onnx", matmulModel(8, 1));
    const report = await runBenchmark({
      device: { id: "local" },
      settings: { ...QUICK, minIterations: 1 },
      models: [{ id: "m", source: path, variants: [{ id: "a", path }] }],
      workerPath: join(project.dir, "no-such-worker.js"),
    });
    expect(report.results[0]?.failure).toMatchObject({ kind: "crash", "exit-code": 1, stderr: expect.stringMatching(/Cannot find module/) });
  }, 60_000);

  it("cancelling stops the running worker and the remaining variants", async () => {
    const path = await saveModel(join(project.dir, "cancel"), "model.onnx", matmulModel(32, 2));
    const controller = new AbortController();
    const report = await runBenchmark({
      device: { id: "local" },
      settings: { warmup: 0, minIterations: 1, minDurationMs: 60_000, promptTokens: 1, generateTokens: 0 },
      models: [{ id: "m", source: path, variants: [{ id: "a", path }, { id: "b", path }] }],
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === "measure") controller.abort();
      },
    });
    expect(report.results).toHaveLength(1);
    expect(report.results[0]?.failure).toMatchObject({ kind: "error", message: "the benchmark was cancelled", signal: "SIGKILL" });
  }, 60_000);

  it("a missing execution provider is a clear configuration error naming the device", async () => {
    const path = await saveModel(join(project.dir, "ep"), "model.onnx", matmulModel(8, 1));
    const attempt = runBenchmark({
      device: { id: "jetson", executionProviders: ["cuda", "cpu"] },
      settings: QUICK,
      models: [{ id: "m", source: path, variants: [{ id: "a", path }] }],
    });
    await expect(attempt).rejects.toSatisfy(isConfigurationError);
    await expect(attempt).rejects.toThrow(/device `jetson`: execution provider `cuda` is not available on this machine \(this ONNX Runtime offers: cpu/);
  });

  it("refuses impossible settings before starting", async () => {
    await expect(
      runBenchmark({ device: { id: "x" }, settings: { ...QUICK, minIterations: 0 }, models: [] }),
    ).rejects.toThrow(/bench settings: minIterations must be at least 1/);
  });
});
