/** A plain-text table of a bench report, for people reading a terminal or a log. */
import type { BenchReport, VariantResultJson } from "./report.js";
import { THROUGHPUT_DEFINITION, TOKENS_PER_SECOND_DEFINITION, isSourceResult, latencySpread, ratiosToSource, sourceResultOf } from "./versus-source.js";

function ms(value: number | undefined): string {
  if (value === undefined) return "-";
  if (value >= 1000) return `${(value / 1000).toFixed(2)}s`;
  if (value >= 10) return `${value.toFixed(1)}ms`;
  return `${value.toFixed(2)}ms`;
}

function bytes(value: number | undefined): string {
  if (value === undefined) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = value;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v}B` : `${v.toFixed(1)}${units[u]}`;
}

function num(value: number | undefined, digits: number): string {
  return value === undefined ? "-" : value.toFixed(digits);
}

function row(r: VariantResultJson, source: VariantResultJson | undefined): string[] {
  const m = r.metrics;
  const decoder = r.kind === "decoder";
  const spread = latencySpread(r);
  const ratios = source && !isSourceResult(r) && r.status === "ok" ? ratiosToSource(m, source.metrics) : {};
  return [
    `${r.model}/${r.variant}`,
    r.status === "ok" ? "ok" : `FAILED (${r.failure?.kind ?? "?"})`,
    r.run ? String(r.run.iterations) : "-",
    bytes(m["model-size"]),
    ms(m["load-time"]),
    decoder ? ms(m.ttft) : "-",
    ms(decoder ? m["decode-latency-p50"] : m["latency-p50"]),
    spread ? `${ms(spread.p10)}–${ms(spread.p90)}` : "-",
    decoder ? num(m["tokens-per-second"], 1) : num(m.throughput, 1),
    bytes(m["peak-memory"]),
    isSourceResult(r) ? "(fp32 source)" : ([ratios.speed, ratios.size, ratios.memory].filter((x) => x !== undefined).map((x) => x.text).join(", ") || "-"),
    m["kl-divergence"] === undefined ? "-" : `${m["kl-divergence"].toExponential(2)}±${(m["kl-divergence-stderr"] ?? 0).toExponential(1)}`,
    m["top-1-agreement"] === undefined ? "-" : `${(m["top-1-agreement"] * 100).toFixed(1)}%`,
    num(m.perplexity, 2),
  ];
}

const HEADER = ["variant", "status", "iters", "size", "load", "ttft", "p50", "p10–p90", "tok/s|inf/s", "peak mem", "vs fp32", "KL", "top-1", "ppl"];

/** The report as an aligned table: one row per variant, then failure messages. */
export function formatReportTable(report: BenchReport): string {
  const rows = [HEADER, ...report.results.map((r) => row(r, sourceResultOf(report, r.model)))];
  const widths = HEADER.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  ").trimEnd();
  const out = [
    `device ${report.device.id}: ${report.device.fingerprint["cpu-model"]}, ${report.device.fingerprint["logical-cores"]} cores, ` +
      `${report.device.fingerprint.os}/${report.device.fingerprint.arch}, ONNX Runtime ${report.device.fingerprint["onnxruntime-version"]}, ` +
      `providers ${report.device.session["execution-providers"].join(",")}`,
    `run rules: ${report.settings.warmup} warm-up, then at least ${report.settings["min-iterations"]} iterations and ${ms(report.settings["min-duration-ms"])}; ` +
      `decoders: ${report.settings["prompt-tokens"]}-token prompt, ${report.settings["generate-tokens"]} generated tokens per iteration`,
    `p50, p10–p90: per-token decode latency (decoders) or per-run latency; tok/s: ${TOKENS_PER_SECOND_DEFINITION}; inf/s: ${THROUGHPUT_DEFINITION}`,
    `vs fp32: speed = fp32 latency ÷ variant latency (below 1× is slower than fp32); size and memory as a share of fp32's`,
    line(rows[0] as string[]),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.slice(1).map(line),
  ];
  const notes: string[] = [];
  for (const r of report.results) {
    if (r.failure) notes.push(`${r.model}/${r.variant}: ${r.failure.kind}: ${r.failure.message}`);
    if (r["accuracy-error"]) notes.push(`${r.model}/${r.variant}: no accuracy: ${r["accuracy-error"]}`);
    if (r.memory?.["within-budget"] === false) notes.push(`${r.model}/${r.variant}: peak memory ${bytes(r.memory["peak-rss-bytes"])} exceeds the device's budget`);
    if (r.run?.["stopped-by"] === "max-iterations") notes.push(`${r.model}/${r.variant}: stopped at the iteration cap before min-duration`);
  }
  return [...out, ...(notes.length > 0 ? ["", ...notes] : [])].join("\n");
}
