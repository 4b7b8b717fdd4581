/**
 * Bench reports made by the benchmark's own code (`variantResult` turns a
 * measurement into a report entry), validated against the schema, and the
 * verdict the gate gives on them: the fp32 source and two variants on one
 * device, int4 slower than fp32 as on small models.
 */
import { SOURCE_VARIANT_ID, validateReport, variantResult, type BenchReport, type Measurement } from "@slmops/bench";
import { evaluateGates, type Verdict } from "@slmops/gate";
import { resultsFromReport } from "@slmops/gate/reports";

/** Deterministic decode latencies around `median` ms. */
function decode(median: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => median * (1 + (((i * 7919) % 101) / 100 - 0.5) * 0.1));
}

function measurement(median: number, peakMiB: number): Measurement {
  const generations = 20;
  const steps = 16;
  const decodeMs = decode(median, generations * steps);
  return {
    kind: "decoder",
    loadColdMs: 40,
    loadWarmMs: 12,
    baselineRssBytes: 60 * 2 ** 20,
    peakRssBytes: peakMiB * 2 ** 20,
    run: { warmup: 2, iterations: generations, elapsedMs: decodeMs.reduce((a, b) => a + b, 0) * 1.3, stoppedBy: "rules" },
    ttftMs: decode(median * 6, generations),
    decodeMs,
    decodeContext: decodeMs.map((_, i) => 32 + (i % steps)),
    accuracy: { positions: 512, klDivergence: median / 1000, klDivergenceStderr: 0.0004, top1Agreement: 0.97, perplexity: 14.2, referencePerplexity: 14 },
  } as Measurement;
}

function row(variant: string, median: number, sizeBytes: number, peakMiB: number) {
  const m = measurement(median, peakMiB);
  const files = { files: [{ name: "model.onnx", path: `/models/${variant}/model.onnx`, bytes: sizeBytes }], totalBytes: sizeBytes };
  const result = variantResult({ model: "story-lm", variant, files: files as never, modelSha256: "a".repeat(64) }, variant === SOURCE_VARIANT_ID ? { ...m, accuracy: undefined } : m);
  if (result.status !== "ok") throw new Error(`fixture row ${variant} failed: ${result.failure?.message ?? ""}`);
  return result;
}

export function sampleReport(device = "rpi5", slowdown = 1): BenchReport {
  return validateReport({
    "schema-version": 1,
    "created-at": "2026-01-02T03:04:05.678Z",
    device: {
      id: device,
      fingerprint: {
        "cpu-model": "Cortex-A76",
        "cpu-flags": ["neon"],
        "logical-cores": 4,
        "physical-cores": 4,
        "memory-bytes": 8 * 1024 ** 3,
        os: "linux",
        "os-release": "6.6.31",
        arch: "arm64",
        "node-version": "20.20.2",
        "onnxruntime-version": "1.30.0",
        "execution-providers": ["cpu"],
        "runner-labels": ["self-hosted", "rpi5"],
        "cpu-governor": "performance",
        "cpu-temperature-celsius": 51,
      },
      session: { "execution-providers": ["cpu"], "intra-op-threads": 4, "inter-op-threads": 0, "graph-optimization-level": "all" },
    },
    settings: { warmup: 2, "min-iterations": 20, "min-duration-ms": 1000, "max-iterations": 100000, "prompt-tokens": 32, "generate-tokens": 16, seed: 0, "timeout-ms": 1800000 },
    models: [{ id: "story-lm", "source-sha256": "a".repeat(64) }],
    results: [
      row(SOURCE_VARIANT_ID, 10, 40 * 2 ** 20, 200),
      row("int8", 6 * slowdown, 10 * 2 ** 20, 120),
      row("int4", 12.5 * slowdown, 6 * 2 ** 20, 110),
    ],
  });
}

/** The verdict on `sampleReport()` against a baseline where int4 was faster, with a latency limit that int4 fails. */
export function sampleVerdict(): { verdict: Verdict; reports: BenchReport[] } {
  const report = sampleReport();
  const baselineReport = sampleReport("rpi5", 0.9);
  const run = resultsFromReport(report, "rpi5.json");
  const base = resultsFromReport(baselineReport, "baseline/rpi5.json");
  const verdict = evaluateGates({
    plan: ["int8", "int4"].map((v) => ({ device: "rpi5", variant: `story-lm/${v}` })),
    results: run.results,
    failures: run.failures,
    baseline: { status: "found", source: "bench run on main", results: base.results },
    gates: [{ name: "edge", limits: { "decode-latency-p90": { max: 12 }, "peak-memory": { max: 512 * 2 ** 20 } }, regression: { metric: "decode-latency-p50", maxChange: 0.05 } }],
    resamples: 500,
  });
  return { verdict, reports: [report] };
}
