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
  /** Per-token decode latencies (ms): a decoder. */
  readonly decodeMs?: readonly number[];
  /** Per-inference latencies (ms): a model other than a decoder. */
  readonly latencyMs?: readonly number[];
  readonly failed?: string;
  /** Measured figures (peak memory, load time, size, accuracy); the report's data is built to give them. */
  readonly metrics?: Partial<MetricsJson>;
}

/** Decode steps per generation, as in the reports' settings. */
const GENERATE_TOKENS = 64;
/** Timed generations behind `count` decode steps. */
const generations = (count: number) => Math.max(1, Math.ceil(count / GENERATE_TOKENS));

/**
 * A result with every block the benchmark writes (load, memory, files, run,
 * summaries, samples, accuracy) and `metrics` derived from them as the
 * benchmark derives them, so the gate's cross-checks hold.
 */
function result(spec: VariantSpec): VariantResultJson {
  const model = spec.model ?? "story-lm";
  if (spec.failed) return { model, variant: spec.variant, status: "failed", failure: { kind: "crash", message: spec.failed, "exit-code": 139, signal: null }, metrics: {} };
  const decode = spec.decodeMs ?? [];
  const peakRss = spec.metrics?.["peak-memory"] ?? 300 * 1024 ** 2;
  const loadMs = spec.metrics?.["load-time"] ?? 150;
  const size = spec.metrics?.["model-size"] ?? 20 * 1024 ** 2;
  const accuracy = {
    positions: 4096,
    "kl-divergence": spec.metrics?.["kl-divergence"] ?? 0.01,
    "kl-divergence-stderr": spec.metrics?.["kl-divergence-stderr"] ?? 0.001,
    "top-1-agreement": spec.metrics?.["top-1-agreement"] ?? 0.95,
    perplexity: spec.metrics?.perplexity ?? 20,
    "reference-perplexity": 19.5,
  };
  const metrics: Record<string, number> = {
    "load-time": loadMs,
    "load-time-warm": loadMs / 3,
    "peak-memory": peakRss,
    "model-size": size,
    "kl-divergence": accuracy["kl-divergence"],
    "kl-divergence-stderr": accuracy["kl-divergence-stderr"],
    "top-1-agreement": accuracy["top-1-agreement"],
    perplexity: accuracy.perplexity,
  };
  const latency = spec.latencyMs ?? [];
  const iterations = latency.length > 0 ? latency.length : decode.length > 0 ? generations(decode.length) : 0;
  // Prefill of the prompt takes several decode steps' time.
  const ttft = decode.slice(0, iterations).map((ms) => ms * 8);
  const timed: Record<string, unknown> = {};
  if (decode.length > 0) {
    const d = summarize(decode);
    const t = summarize(ttft);
    const total = decode.reduce((a, b) => a + b, 0);
    const tokensPerSecond = (decode.length * 1000) / total;
    const context = decode.map((_, i) => 128 + (i % GENERATE_TOKENS));
    Object.assign(metrics, { ttft: t.p50, "ttft-p90": t.p90, "decode-latency-p50": d.p50, "decode-latency-p90": d.p90, "decode-latency-p99": d.p99, "tokens-per-second": tokensPerSecond });
    Object.assign(timed, {
      "ttft-ms": t,
      "decode-latency-ms": d,
      "tokens-per-second": tokensPerSecond,
      "decode-latency-by-context": { "slope-ms-per-1k-tokens": 0, buckets: [{ "context-from": 128, "context-to": 191, count: decode.length, "mean-ms": d.mean, "p50-ms": d.p50 }] },
      samples: { "ttft-ms": ttft, "decode-ms": decode, "decode-context": context },
    });
  }
  if (latency.length > 0) {
    const l = summarize(latency);
    const elapsed = latency.reduce((a, b) => a + b, 0);
    const throughput = (latency.length * 1000) / elapsed;
    Object.assign(metrics, { "latency-p50": l.p50, "latency-p90": l.p90, "latency-p99": l.p99, throughput });
    Object.assign(timed, { "latency-ms": l, "throughput-per-second": throughput, samples: { "latency-ms": latency } });
  }
  const elapsedMs = [...latency, ...ttft, ...decode].reduce((a, b) => a + b, 0);
  return {
    model,
    variant: spec.variant,
    status: "ok",
    kind: latency.length > 0 ? "generic" : "decoder",
    "model-sha256": "1".repeat(64),
    "model-size-bytes": size,
    files: [{ name: "model.onnx", bytes: size }],
    load: { "cold-ms": loadMs, "warm-ms": loadMs / 3 },
    memory: { "peak-rss-bytes": peakRss, "baseline-rss-bytes": 80 * 1024 ** 2 },
    run: { warmup: 5, iterations, "elapsed-ms": elapsedMs, "stopped-by": "rules" },
    ...timed,
    accuracy,
    metrics: metrics as MetricsJson,
  } as VariantResultJson;
}

/** A schema-valid report of one device. */
export function benchReport(device: string, variants: readonly VariantSpec[], fingerprint: Partial<FingerprintJson> = {}): BenchReport {
  return {
    "schema-version": 1,
    "created-at": "2026-01-02T03:04:05.678Z",
    device: { id: device, fingerprint: { ...FINGERPRINT, ...fingerprint }, session: { "execution-providers": ["cpu"], "intra-op-threads": 4, "inter-op-threads": 0, "graph-optimization-level": "all" } },
    settings: { warmup: 5, "min-iterations": 50, "min-duration-ms": 10000, "max-iterations": 100000, "prompt-tokens": 128, "generate-tokens": GENERATE_TOKENS, seed: 0, "timeout-ms": 1800000 },
    models: [{ id: "story-lm", "source-sha256": "0".repeat(64) }],
    results: variants.map(result),
  };
}

/** Writes reports as `<dir>/<device>.json`. */
export async function writeReports(dir: string, reports: readonly BenchReport[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const report of reports) await writeFile(join(dir, `${report.device.id}.json`), `${JSON.stringify(report, null, 2)}\n`);
}
