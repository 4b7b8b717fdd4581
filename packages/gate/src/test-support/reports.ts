/** Bench reports built the way `@slmops/bench` builds them, for tests. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { summarize, type BenchReport, type FingerprintJson, type MetricsJson, type VariantResultJson } from "@slmops/bench";

export const FINGERPRINT: FingerprintJson = {
  "cpu-model": "Cortex-A76",
  "cpu-flags": ["neon"],
  "logical-cores": 4,
  "physical-cores": 4,
  "memory-bytes": 4 * 1024 ** 3,
  os: "linux",
  "os-release": "6.6.31",
  arch: "arm64",
  "node-version": "20.20.2",
  "onnxruntime-version": "1.30.0",
  "execution-providers": ["cpu"],
  "runner-labels": ["self-hosted", "rpi5"],
  "cpu-governor": "performance",
  "cpu-temperature-celsius": 51,
};

export interface VariantSpec {
  readonly model?: string;
  readonly variant: string;
  /** Per-token decode latencies (ms). */
  readonly decodeMs?: readonly number[];
  readonly failed?: string;
  readonly metrics?: Partial<MetricsJson>;
}

function result(spec: VariantSpec): VariantResultJson {
  const model = spec.model ?? "story-lm";
  if (spec.failed) return { model, variant: spec.variant, status: "failed", failure: { kind: "crash", message: spec.failed, "exit-code": 139, signal: null }, metrics: {} };
  const decode = spec.decodeMs ?? [];
  const metrics: Record<string, number> = { "peak-memory": 300 * 1024 ** 2, "model-size": 20 * 1024 ** 2, "load-time": 150, "kl-divergence": 0.01, "top-1-agreement": 0.95, perplexity: 20 };
  if (decode.length > 0) {
    const s = summarize(decode);
    const total = decode.reduce((a, b) => a + b, 0);
    Object.assign(metrics, { "decode-latency-p50": s.p50, "decode-latency-p90": s.p90, "decode-latency-p99": s.p99, "tokens-per-second": (decode.length * 1000) / total });
  }
  return {
    model,
    variant: spec.variant,
    status: "ok",
    kind: "decoder",
    ...(decode.length > 0 ? { "decode-latency-ms": summarize(decode), samples: { "decode-ms": decode, "decode-context": decode.map((_, i) => 128 + (i % 64)) } } : {}),
    metrics: { ...metrics, ...spec.metrics } as MetricsJson,
  };
}

/** A schema-valid report of one device. */
export function benchReport(device: string, variants: readonly VariantSpec[], fingerprint: Partial<FingerprintJson> = {}): BenchReport {
  return {
    "schema-version": 1,
    "created-at": "2026-01-02T03:04:05.678Z",
    device: { id: device, fingerprint: { ...FINGERPRINT, ...fingerprint }, session: { "execution-providers": ["cpu"], "intra-op-threads": 4, "inter-op-threads": 0, "graph-optimization-level": "all" } },
    settings: { warmup: 5, "min-iterations": 50, "min-duration-ms": 10000, "max-iterations": 100000, "prompt-tokens": 128, "generate-tokens": 64, seed: 0, "timeout-ms": 1800000 },
    models: [{ id: "story-lm", "source-sha256": "0".repeat(64) }],
    results: variants.map(result),
  };
}

/** Writes reports as `<dir>/<device>.json`. */
export async function writeReports(dir: string, reports: readonly BenchReport[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const report of reports) await writeFile(join(dir, `${report.device.id}.json`), `${JSON.stringify(report, null, 2)}\n`);
}
