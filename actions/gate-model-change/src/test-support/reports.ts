/** Device reports as the benchmark writes them (validated against its schema), for tests. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { validateReport, type BenchReport, type VariantResultJson } from "@slmops/bench/report";
import { quantile } from "@slmops/gate";

/** Per-token decode latencies (ms) around `center`, deterministic. */
export function decodeSamples(center: number, count = 200): number[] {
  return Array.from({ length: count }, (_, i) => Math.round((center * (0.9 + 0.2 * (((i * 7919) % 101) / 100))) * 1000) / 1000);
}

function result(variant: string, decodeMs: readonly number[], peakMemory: number): VariantResultJson {
  const total = decodeMs.reduce((a, b) => a + b, 0);
  return {
    model: "story-lm",
    variant,
    status: "ok",
    kind: "decoder",
    // The blocks the benchmark derives peak-memory and model-size from, so the gate's cross-check holds.
    memory: { "peak-rss-bytes": peakMemory, "baseline-rss-bytes": 80 * 1024 ** 2 },
    "model-size-bytes": 20 * 1024 ** 2,
    samples: { "decode-ms": [...decodeMs], "decode-context": decodeMs.map((_, i) => 128 + (i % 64)) },
    metrics: {
      "decode-latency-p50": quantile(decodeMs, 0.5),
      "decode-latency-p90": quantile(decodeMs, 0.9),
      "decode-latency-p99": quantile(decodeMs, 0.99),
      "tokens-per-second": (decodeMs.length * 1000) / total,
      "peak-memory": peakMemory,
      "model-size": 20 * 1024 ** 2,
    },
  } as VariantResultJson;
}

/** A schema-valid report of one device with one variant. */
export function deviceReport(device: string, options: { decodeCenterMs: number; peakMemory?: number; variant?: string }): BenchReport {
  const report = {
    "schema-version": 1,
    "created-at": "2026-01-02T03:04:05.678Z",
    device: {
      id: device,
      fingerprint: {
        "cpu-model": "Cortex-A76",
        "cpu-flags": ["neon"],
        "logical-cores": 4,
        "physical-cores": 4,
        "memory-bytes": 4 * 1024 ** 3,
        os: "linux",
        "os-release": "6.6.31",
        arch: "arm64",
        "node-version": "24.0.0",
        "onnxruntime-version": "1.30.0",
        "execution-providers": ["cpu"],
        "runner-labels": ["self-hosted", device],
        "cpu-governor": "performance",
        "cpu-temperature-celsius": 51,
      },
      session: { "execution-providers": ["cpu"], "intra-op-threads": 4, "inter-op-threads": 0, "graph-optimization-level": "all" },
    },
    settings: { warmup: 5, "min-iterations": 50, "min-duration-ms": 10000, "max-iterations": 100000, "prompt-tokens": 128, "generate-tokens": 64, seed: 0, "timeout-ms": 1800000 },
    models: [{ id: "story-lm", "source-sha256": "0".repeat(64) }],
    results: [result(options.variant ?? "int8", decodeSamples(options.decodeCenterMs), options.peakMemory ?? 300 * 1024 ** 2)],
  };
  return validateReport(report, `test report of ${device}`);
}

/** Writes reports as `<dir>/<device>/<device>.json`, the layout download-artifact leaves. */
export function writeReports(dir: string, reports: readonly BenchReport[]): void {
  for (const report of reports) {
    mkdirSync(join(dir, report.device.id), { recursive: true });
    writeFileSync(join(dir, report.device.id, `${report.device.id}.json`), `${JSON.stringify(report, null, 2)}\n`);
  }
}
