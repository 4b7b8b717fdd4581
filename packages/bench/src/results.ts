/** Turns a worker's raw measurement into a report entry: summaries, context buckets, headline metrics; or a failed entry. */
import type { Measurement } from "./measure.js";
import type { ModelFiles } from "./model-files.js";
import { resultProblems } from "./report.js";
import type { ContextBucketJson, FailureJson, MetricsJson, SummaryJson, VariantResultJson } from "./report.js";
import { slope, summarize } from "./statistics.js";

/** At most this many context-length buckets in `decode-latency-by-context`. */
const CONTEXT_BUCKETS = 8;

/** Decode latency grouped into up to 8 equal ranges of context length. */
export function contextBuckets(decodeMs: readonly number[], context: readonly number[]): ContextBucketJson[] {
  if (decodeMs.length === 0) return [];
  const lo = Math.min(...context);
  const hi = Math.max(...context);
  const count = Math.min(CONTEXT_BUCKETS, hi - lo + 1);
  const width = (hi - lo + 1) / count;
  const groups: number[][] = Array.from({ length: count }, () => []);
  decodeMs.forEach((ms, i) => {
    const b = Math.min(count - 1, Math.floor(((context[i] as number) - lo) / width));
    (groups[b] as number[]).push(ms);
  });
  const buckets: ContextBucketJson[] = [];
  groups.forEach((g, b) => {
    if (g.length === 0) return;
    const s = summarize(g);
    buckets.push({
      "context-from": lo + Math.ceil(b * width),
      "context-to": lo + Math.ceil((b + 1) * width) - 1,
      count: g.length,
      "mean-ms": s.mean,
      "p50-ms": s.p50,
    });
  });
  return buckets;
}

function summary(samples: readonly number[]): SummaryJson {
  return summarize(samples);
}

export interface ResultContext {
  readonly model: string;
  readonly variant: string;
  readonly files: ModelFiles;
  readonly modelSha256: string;
  readonly memoryBudgetBytes?: number;
  readonly accuracyError?: string;
}

/** The entry of a variant that produced no figures: why, and what is known of its files. */
export function failedResult(model: string, variant: string, failure: FailureJson, files?: ModelFiles, modelSha256?: string): VariantResultJson {
  return {
    model,
    variant,
    status: "failed",
    failure,
    ...(files ? { "model-size-bytes": files.totalBytes, files: files.files.map((f) => ({ name: f.name, bytes: f.bytes })) } : {}),
    ...(modelSha256 ? { "model-sha256": modelSha256 } : {}),
    metrics: files ? { "model-size": files.totalBytes } : {},
  };
}

/** JSON pointers (without the leading slash) of the numbers in `value` that are NaN or infinite. */
function nonFiniteNumbers(value: unknown, at = ""): string[] {
  if (typeof value === "number") return Number.isFinite(value) ? [] : [`${at} is ${String(value)}`];
  if (typeof value !== "object" || value === null) return [];
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  return entries.flatMap(([key, v]) => nonFiniteNumbers(v, at === "" ? key : `${at}/${key}`));
}

/**
 * A measured variant's report entry. A measurement that cannot be reported
 * (NaN or infinite figures, which a model with NaN weights yields, or any
 * other figure the report schema refuses) becomes a failed entry saying why,
 * so that one bad variant never costs the others their results.
 */
export function variantResult(ctx: ResultContext, m: Measurement): VariantResultJson {
  const result = measuredResult(ctx, m);
  const fail = (message: string) => failedResult(ctx.model, ctx.variant, { kind: "error", message }, ctx.files, ctx.modelSha256);
  const nonFinite = nonFiniteNumbers(result);
  if (nonFinite.length > 0) {
    const shown = nonFinite.slice(0, 6).join(", ") + (nonFinite.length > 6 ? `, and ${nonFinite.length - 6} more` : "");
    return fail(
      `the variant's figures are not all finite numbers (${shown}): its outputs hold NaN or infinity, ` +
        `which NaN or infinite weights cause; check the model file, or build it again with \`slmops optimize\``,
    );
  }
  const problems = resultProblems(result);
  if (problems !== undefined) return fail(`the measurement does not fit the bench report: ${problems}`);
  return result;
}

function measuredResult(ctx: ResultContext, m: Measurement): VariantResultJson {
  const metrics: Record<string, number> = {
    "load-time": m.loadColdMs,
    "load-time-warm": m.loadWarmMs,
    "peak-memory": m.peakRssBytes,
    "model-size": ctx.files.totalBytes,
  };
  const result: Record<string, unknown> = {
    model: ctx.model,
    variant: ctx.variant,
    status: "ok",
    kind: m.kind,
    "model-sha256": ctx.modelSha256,
    "model-size-bytes": ctx.files.totalBytes,
    files: ctx.files.files.map((f) => ({ name: f.name, bytes: f.bytes })),
    load: { "cold-ms": m.loadColdMs, "warm-ms": m.loadWarmMs },
    memory: {
      "peak-rss-bytes": m.peakRssBytes,
      "baseline-rss-bytes": m.baselineRssBytes,
      ...(ctx.memoryBudgetBytes !== undefined ? { "within-budget": m.peakRssBytes <= ctx.memoryBudgetBytes } : {}),
    },
    run: { warmup: m.run.warmup, iterations: m.run.iterations, "elapsed-ms": m.run.elapsedMs, "stopped-by": m.run.stoppedBy },
  };
  const samples: Record<string, readonly number[]> = {};
  if (m.latencyMs && m.latencyMs.length > 0) {
    const s = summary(m.latencyMs);
    result["latency-ms"] = s;
    const throughput = m.run.elapsedMs > 0 ? (m.latencyMs.length * 1000) / m.run.elapsedMs : 0;
    result["throughput-per-second"] = throughput;
    Object.assign(metrics, { "latency-p50": s.p50, "latency-p90": s.p90, "latency-p99": s.p99, throughput });
    samples["latency-ms"] = m.latencyMs;
  }
  if (m.ttftMs && m.ttftMs.length > 0) {
    const s = summary(m.ttftMs);
    result["ttft-ms"] = s;
    Object.assign(metrics, { ttft: s.p50, "ttft-p90": s.p90 });
    samples["ttft-ms"] = m.ttftMs;
  }
  if (m.decodeMs && m.decodeMs.length > 0 && m.decodeContext) {
    const s = summary(m.decodeMs);
    const total = m.decodeMs.reduce((a, b) => a + b, 0);
    const tokensPerSecond = total > 0 ? (m.decodeMs.length * 1000) / total : 0;
    result["decode-latency-ms"] = s;
    result["tokens-per-second"] = tokensPerSecond;
    result["decode-latency-by-context"] = {
      "slope-ms-per-1k-tokens": slope(m.decodeContext, m.decodeMs) * 1000,
      buckets: contextBuckets(m.decodeMs, m.decodeContext),
    };
    Object.assign(metrics, {
      "decode-latency-p50": s.p50,
      "decode-latency-p90": s.p90,
      "decode-latency-p99": s.p99,
      "tokens-per-second": tokensPerSecond,
    });
    samples["decode-ms"] = m.decodeMs;
    samples["decode-context"] = m.decodeContext;
  }
  if (m.accuracy) {
    const a = m.accuracy;
    result.accuracy = {
      positions: a.positions,
      "kl-divergence": a.klDivergence,
      "kl-divergence-stderr": a.klDivergenceStderr,
      "top-1-agreement": a.top1Agreement,
      perplexity: a.perplexity,
      "reference-perplexity": a.referencePerplexity,
    };
    Object.assign(metrics, {
      "kl-divergence": a.klDivergence,
      "kl-divergence-stderr": a.klDivergenceStderr,
      "top-1-agreement": a.top1Agreement,
      perplexity: a.perplexity,
    });
  }
  const accuracyError = m.accuracyError ?? ctx.accuracyError;
  if (accuracyError) result["accuracy-error"] = accuracyError;
  result.samples = samples;
  result.metrics = metrics as MetricsJson;
  return result as unknown as VariantResultJson;
}
