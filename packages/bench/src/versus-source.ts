/**
 * The fp32 source model's row of a bench report, and every variant's figures
 * against it. The source is benchmarked like a variant, in its own process,
 * under the reserved variant id {@link SOURCE_VARIANT_ID} — an id no manifest
 * variant can have (manifest ids never hold a space) — so a report that holds
 * it stays valid for every reader of the format, and the gate's cross-check
 * covers its figures like any other row.
 *
 * Ratios read the same way everywhere (bench table, Markdown, HTML):
 * speed is how many times faster than fp32 (fp32 latency ÷ variant latency;
 * below 1× the variant is slower than fp32); size and memory are the
 * variant's share of fp32's (below 1× it is smaller).
 */
import type { BenchReport, MetricsJson, VariantResultJson } from "./report.js";
import { percentile } from "./statistics.js";

/** The `variant` of the row that benchmarks the model's fp32 source. */
export const SOURCE_VARIANT_ID = "fp32 source";

/** Whether a result is the fp32 source's row rather than a variant's. */
export function isSourceResult(result: Pick<VariantResultJson, "variant">): boolean {
  return result.variant === SOURCE_VARIANT_ID;
}

/** The fp32 source's measured row for `model` in a report, when it was measured. */
export function sourceResultOf(report: BenchReport, model: string): VariantResultJson | undefined {
  return report.results.find((r) => r.model === model && isSourceResult(r) && r.status === "ok");
}

/** What the decode tokens-per-second figure is, to print next to it. */
export const TOKENS_PER_SECOND_DEFINITION = "decode tokens per second: generated tokens ÷ their total decode time (KV cache, batch 1)";

/** What the inferences-per-second figure of a model other than a decoder is. */
export const THROUGHPUT_DEFINITION = "inferences per second: timed runs ÷ their wall time, one run at a time";

export type SourceAspect = "speed" | "size" | "memory";

export interface SourceRatio {
  readonly aspect: SourceAspect;
  /** Speed: times faster than fp32; size and memory: times fp32's. */
  readonly ratio: number;
  /** The variant is worse than fp32 on this aspect (slower, larger, more memory). */
  readonly worse: boolean;
  /** e.g. `2.10× fp32 speed`, `0.80× fp32 speed — slower than fp32`, `0.26× fp32 size`. */
  readonly text: string;
}

/** The latency a row's speed is judged by: decode p50 for decoders, per-run p50 otherwise. */
export function speedMetric(metrics: MetricsJson): "decode-latency-p50" | "latency-p50" | undefined {
  if (typeof metrics["decode-latency-p50"] === "number") return "decode-latency-p50";
  if (typeof metrics["latency-p50"] === "number") return "latency-p50";
  return undefined;
}

function ratioNumber(ratio: number): string {
  return ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2);
}

const WORSE: Readonly<Record<SourceAspect, string>> = { speed: "slower than fp32", size: "larger than fp32", memory: "more memory than fp32" };

function ratioOf(aspect: SourceAspect, ratio: number): SourceRatio | undefined {
  if (!Number.isFinite(ratio) || ratio <= 0) return undefined;
  // Rounded as shown: a variant shown at 1.00× is neither better nor worse.
  const shown = Number(ratioNumber(ratio));
  const worse = aspect === "speed" ? shown < 1 : shown > 1;
  return { aspect, ratio, worse, text: `${ratioNumber(ratio)}× fp32 ${aspect}${worse ? ` — ${WORSE[aspect]}` : ""}` };
}

/**
 * A variant's speed, size and memory against the fp32 source's (those both
 * rows measured). The source's own row has none.
 */
export function ratiosToSource(variant: MetricsJson, source: MetricsJson): Partial<Record<SourceAspect, SourceRatio>> {
  const out: Partial<Record<SourceAspect, SourceRatio>> = {};
  const latency = speedMetric(source);
  const mine = latency ? variant[latency] : undefined;
  const theirs = latency ? source[latency] : undefined;
  if (mine !== undefined && theirs !== undefined && mine > 0) {
    const speed = ratioOf("speed", theirs / mine);
    if (speed) out.speed = speed;
  }
  const pairs: [SourceAspect, keyof MetricsJson][] = [
    ["size", "model-size"],
    ["memory", "peak-memory"],
  ];
  for (const [aspect, metric] of pairs) {
    const a = variant[metric];
    const b = source[metric];
    if (a === undefined || b === undefined || b <= 0) continue;
    const r = ratioOf(aspect, a / b);
    if (r) out[aspect] = r;
  }
  return out;
}

/** Percentiles of a row's raw samples: the spread behind its median. */
export interface Spread {
  readonly count: number;
  readonly p10: number;
  readonly p50: number;
  readonly p90: number;
}

/** The spread of a row's per-token decode latency (decoders) or per-run latency (others), from its raw samples. */
export function latencySpread(result: VariantResultJson): Spread | undefined {
  const samples = result.samples?.["decode-ms"]?.length ? result.samples["decode-ms"] : result.samples?.["latency-ms"];
  if (!samples || samples.length === 0) return undefined;
  return { count: samples.length, p10: percentile(samples, 10), p50: percentile(samples, 50), p90: percentile(samples, 90) };
}
