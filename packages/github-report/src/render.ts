/**
 * The verdict as GitHub-flavoured Markdown: a headline, a device × variant
 * table with each metric, its delta to the baseline and ✅/❌/⚠️ for the gates
 * on it, the checks that did not pass with advice, a Mermaid chart of a key
 * metric per device, and the raw figures in a collapsed section. Pure: the
 * same verdict gives the same text.
 */
import {
  applicabilityLines,
  checksText,
  formatMetricValue,
  isMetricName,
  METRIC_NAMES,
  METRICS,
  NO_BASELINE_YET,
  requirementsText,
  worstOutcome,
  type CheckOutcome,
  type CheckResult,
  type MetricName,
  type PairVerdict,
  type UnplannedReason,
  type Verdict,
} from "@slmops/gate";
import { MAX_COMMENT_LENGTH, REPORT_MARKER } from "./comment.js";
import { codeBlockText, escapeMarkdown } from "./markdown-text.js";
import { chartOf, deltaText, deviceContexts, spreadText, type ReportContext } from "./report-context.js";

export const OUTCOME_ICON: Readonly<Record<CheckOutcome, string>> = Object.freeze({ pass: "✅", fail: "❌", inconclusive: "⚠️" });

export const HEADLINE: Readonly<Record<CheckOutcome, string>> = Object.freeze({
  pass: "every gate passed",
  fail: "a gate failed",
  inconclusive: "inconclusive — rerun to decide",
});

/** Metrics tried, in order, as the chart's key metric. */
export const KEY_METRICS: readonly MetricName[] = ["decode-latency-p50", "latency-p50", "ttft", "tokens-per-second", "peak-memory"];

export interface RenderOptions {
  /** Heading text after the icon (default `slmops`). */
  readonly title?: string;
  /** The metric charted per device (default: the first of {@link KEY_METRICS} reported). */
  readonly keyMetric?: string;
  /** A link to the workflow run, shown under the headline. */
  readonly runUrl?: string;
  /** Longest text allowed (default: what fits in a comment with the marker). */
  readonly maxLength?: number;
  /** Start with the hidden marker of the report comment (default true). */
  readonly marker?: boolean;
  /** The bench reports behind the verdict: each device's fingerprint, run rules, fp32 row and spread. */
  readonly context?: ReportContext;
}

/** Metrics shown as table columns when reported, besides those a gate checks. */
export const DEFAULT_COLUMNS: readonly MetricName[] = ["decode-latency-p50", "decode-latency-p90", "ttft", "tokens-per-second", "peak-memory", "model-size", "kl-divergence", "top-1-agreement"];

/** Columns: metrics a gate checks, and the default ones that were reported, in the catalogue's order. Others stay in the raw figures. */
export function metricColumns(verdict: Verdict): string[] {
  const names = new Set<string>();
  for (const pair of verdict.pairs) {
    for (const name of DEFAULT_COLUMNS) if (typeof pair.metrics[name] === "number") names.add(name);
    for (const check of pair.checks) if (check.metric) names.add(check.metric);
  }
  const known = METRIC_NAMES.filter((n) => names.has(n));
  const other = [...names].filter((n) => !isMetricName(n)).sort();
  return [...known, ...other];
}

/** A verdict table's column heading for a metric. */
export function columnLabel(metric: string): string {
  return isMetricName(metric) ? METRICS[metric].label : metric;
}

/** What a verdict table's cell says for one metric of a pair, before it is escaped for its medium (Markdown, HTML). */
export interface MetricCellParts {
  /** The figure, or undefined when the pair has none. */
  readonly value: string | undefined;
  /** The worst outcome of the metric's checks, as its icon with a leading space, or "". */
  readonly icon: string;
  /** The change against the baseline (`+4.2%, worse`), when there is one. */
  readonly delta: string | undefined;
}

export function metricCellParts(pair: PairVerdict, metric: string): MetricCellParts {
  const value = pair.metrics[metric];
  const checks = pair.checks.filter((c) => c.metric === metric);
  const icon = checks.length > 0 ? ` ${OUTCOME_ICON[worstOutcome(checks.map((c) => c.outcome))]}` : "";
  if (typeof value !== "number") return { value: undefined, icon, delta: undefined };
  return { value: formatMetricValue(metric, value), icon, delta: deltaText(metric, value, pair.baselineMetrics?.[metric]) };
}

function metricCell(pair: PairVerdict, metric: string): string {
  const cell = metricCellParts(pair, metric);
  if (cell.value === undefined) return `—${cell.icon}`;
  return `${escapeMarkdown(cell.value)}${cell.icon}${cell.delta === undefined ? "" : ` (${cell.delta})`}`;
}

function resultCell(pair: PairVerdict): string {
  if (!pair.reported) return `${OUTCOME_ICON.fail} did not report`;
  if (pair.checks.length === 0) return "— no gate";
  return OUTCOME_ICON[pair.outcome];
}

function table(verdict: Verdict): string {
  const columns = metricColumns(verdict);
  const header = ["Device", "Variant", "Result", ...columns.map(columnLabel)];
  const lines = [`| ${header.map(escapeMarkdown).join(" | ")} |`, `| ${header.map((_, i) => (i < 3 ? "---" : "---:")).join(" | ")} |`];
  for (const pair of verdict.pairs) {
    const cells = [escapeMarkdown(pair.device), escapeMarkdown(pair.variant), resultCell(pair), ...columns.map((m) => metricCell(pair, m))];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

const UNKNOWN: Readonly<Record<Exclude<UnplannedReason, "not-planned">, string>> = { "unknown-device": "device not in the manifest", "unknown-variant": "variant not in the manifest" };

/** Results that were not gated: those outside the manifest as a warning (a mistake somewhere), those merely outside this run's plan as a note. */
function unplanned(verdict: Verdict): string | undefined {
  const pair = (u: { device: string; variant: string }) => escapeMarkdown(`${u.device} · ${u.variant}`);
  const unknown = verdict.unplanned.flatMap((u) => (u.reason === "not-planned" ? [] : [`${pair(u)} (${UNKNOWN[u.reason]})`]));
  const notPlanned = verdict.unplanned.filter((u) => u.reason === "not-planned").map(pair);
  const lines = [
    unknown.length > 0 ? `${OUTCOME_ICON.inconclusive} **Not in the manifest, not gated:** ${unknown.join(", ")}. Check the devices' ids and the reports given to the gate.` : undefined,
    notPlanned.length > 0 ? `Not in the plan, not gated: ${notPlanned.join(", ")}.` : undefined,
  ].filter((l): l is string => l !== undefined);
  return lines.length > 0 ? lines.join("\n\n") : undefined;
}

/** Per device, which gates applied (on which variants) and which did not, and why: a pass claims no more than was checked. */
function gatesApplied(verdict: Verdict): string | undefined {
  if (verdict.devices.length === 0) return undefined;
  const parts = verdict.devices.map((d) => {
    const lines = applicabilityLines(d).map((l) => `- ${l.applied ? "" : "_"}${escapeMarkdown(l.text)}${l.applied ? "" : "_"}`);
    return [`**${escapeMarkdown(d.device)}**: ${escapeMarkdown(`${requirementsText(d)}; ${checksText(d.counts)}`)}`, "", ...lines].join("\n");
  });
  return ["### Which gates applied", "", ...parts.flatMap((p, i) => (i === 0 ? [p] : ["", p]))].join("\n");
}

function location(check: CheckResult): string {
  return check.location ? ` _(${escapeMarkdown(`${check.location.file}:${check.location.line}`)})_` : "";
}

function problems(verdict: Verdict): string | undefined {
  const notPassed = verdict.checks.filter((c) => c.outcome !== "pass");
  if (notPassed.length === 0) return undefined;
  const items = notPassed.map((c) => {
    const head = `- ${OUTCOME_ICON[c.outcome]} **${escapeMarkdown(`${c.device} · ${c.variant}`)}** — ${escapeMarkdown(c.message)}${location(c)}`;
    return c.advice ? `${head}\n  <br>${escapeMarkdown(c.advice)}` : head;
  });
  return `### Checks that did not pass\n\n${items.join("\n")}`;
}

function chartNumber(value: number): string {
  return String(Number(value.toPrecision(4)));
}

/**
 * A Mermaid `xychart-beta` bar chart of one metric per (device, variant), the
 * fp32 source first where the context has it; a line shows the baseline. The
 * value axis starts at zero.
 */
export function renderChart(verdict: Verdict, keyMetric?: string, context?: ReportContext): string | undefined {
  const metric = keyMetric ?? KEY_METRICS.find((m) => verdict.pairs.some((p) => typeof p.metrics[m] === "number"));
  if (!metric) return undefined;
  const chart = chartOf(verdict, metric, context);
  if (!chart) return undefined;
  const label = (text: string) => JSON.stringify(codeBlockText(text.replace(/"/g, "'")));
  const top = Math.max(...chart.bars.map((b) => Math.max(b.value, b.baseline ?? 0)));
  const lines = [
    "```mermaid",
    "xychart-beta",
    `    title ${JSON.stringify(codeBlockText(chart.title))}`,
    `    x-axis [${chart.bars.map((b) => label(b.label)).join(", ")}]`,
    `    y-axis ${JSON.stringify(chart.unit)} 0 --> ${chartNumber(top > 0 ? top * 1.1 : 1)}`,
    `    bar [${chart.bars.map((b) => chartNumber(b.value)).join(", ")}]`,
  ];
  const withBaseline = chart.bars.filter((b) => !b.source);
  if (withBaseline.length > 0 && withBaseline.length === chart.bars.length && withBaseline.every((b) => b.baseline !== undefined)) {
    lines.push(`    line [${chart.bars.map((b) => chartNumber(b.baseline as number)).join(", ")}]`);
  }
  lines.push("```");
  const legend = lines.some((l) => l.startsWith("    line")) ? "Bars: this change; line: baseline." : "Bars: this change.";
  return `${lines.join("\n")}\n\n${legend}`;
}

/** Per device: what it is, the run rules, and every row against the fp32 source, with spread and iteration counts. */
function againstSource(context: ReportContext | undefined): string | undefined {
  const devices = deviceContexts(context);
  if (devices.length === 0) return undefined;
  const parts = devices.map((d) => {
    const header = ["Variant", "Iterations", "Latency p50 (p10–p90)", "Per second", "Speed vs fp32", "Size vs fp32", "Memory vs fp32"];
    const lines = [`| ${header.join(" | ")} |`, `| ${header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`];
    const definitions = new Set<string>();
    for (const r of d.rows) {
      if (r.status === "failed") {
        lines.push(`| ${escapeMarkdown(r.label)} | ❌ ${escapeMarkdown(r.failure ?? "failed")} | — | — | — | — | — |`);
        continue;
      }
      const ratio = (aspect: string) => {
        if (r.source) return "fp32 source";
        const x = r.ratios.find((q) => q.aspect === aspect);
        return x ? `${x.worse ? "⚠️ " : ""}${escapeMarkdown(x.text)}` : "—";
      };
      const latency = r.spread ? `${escapeMarkdown(formatMetricValue("latency-p50", r.spread.p50))} (${escapeMarkdown(spreadText(r.spread))})` : "—";
      const perSecond = r.perSecond ? `${escapeMarkdown(r.perSecond.value.toPrecision(4))} †` : "—";
      if (r.perSecond) definitions.add(r.perSecond.definition);
      const iterations = r.iterations !== undefined ? `${r.iterations} (after ${r.warmup ?? 0} warm-up)` : "—";
      lines.push(`| ${escapeMarkdown(r.label)}${r.source ? " **(reference)**" : ""} | ${iterations} | ${latency} | ${perSecond} | ${ratio("speed")} | ${ratio("size")} | ${ratio("memory")} |`);
    }
    return [
      `#### ${escapeMarkdown(d.device)}`,
      "",
      `Device: ${escapeMarkdown(d.fingerprint)}.`,
      `Run rules: ${escapeMarkdown(d.runRules)}.`,
      "",
      lines.join("\n"),
      "",
      ...[...definitions].map((text) => `† ${escapeMarkdown(text)}.`),
    ].join("\n");
  });
  return `### Against the fp32 source\n\nSpeed: fp32 latency ÷ variant latency (below 1× the variant is slower than fp32). Size and memory: the variant's share of fp32's.\n\n${parts.join("\n\n")}`;
}

/** The figures behind the report, as plain JSON (NaN and infinities become null). */
export function rawFigures(verdict: Verdict): unknown {
  return {
    outcome: verdict.outcome,
    baseline: verdict.baseline,
    counts: verdict.counts,
    pairs: verdict.pairs.map((p) => ({
      device: p.device,
      variant: p.variant,
      reported: p.reported,
      outcome: p.outcome,
      metrics: p.metrics,
      ...(p.baselineMetrics ? { baselineMetrics: p.baselineMetrics } : {}),
      checks: p.checks.map((c) => ({
        gate: c.gate,
        kind: c.kind,
        ...(c.metric ? { metric: c.metric } : {}),
        outcome: c.outcome,
        message: c.message,
        ...(c.regression
          ? { regression: { method: c.regression.method, change: c.regression.change, lower: c.regression.lower, upper: c.regression.upper, confidence: c.regression.confidence, allowed: c.regression.allowed, baselineCount: c.regression.baselineCount, candidateCount: c.regression.candidateCount } }
          : {}),
      })),
    })),
    ...(verdict.unplanned.length > 0 ? { unplanned: verdict.unplanned } : {}),
  };
}

function details(verdict: Verdict): string {
  const json = JSON.stringify(rawFigures(verdict), (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : typeof v === "string" ? codeBlockText(v) : v), 2);
  return `<details><summary>Raw figures</summary>\n\n\`\`\`json\n${json}\n\`\`\`\n\n</details>`;
}

/** The report as Markdown, within the length GitHub accepts for a comment. */
export function renderReport(verdict: Verdict, options: RenderOptions = {}): string {
  const marker = options.marker ?? true;
  const max = options.maxLength ?? MAX_COMMENT_LENGTH - REPORT_MARKER.length - 1;
  const { pass, fail, inconclusive } = verdict.counts;
  const headline = `## ${OUTCOME_ICON[verdict.outcome]} ${escapeMarkdown(options.title ?? "slmops")}: ${HEADLINE[verdict.outcome]}`;
  const baseline =
    verdict.baseline.status === "found"
      ? `Baseline: ${escapeMarkdown(verdict.baseline.source)}.`
      : verdict.baseline.noneYet
        ? `**${escapeMarkdown(NO_BASELINE_YET.charAt(0).toUpperCase() + NO_BASELINE_YET.slice(1))}** (${escapeMarkdown(verdict.baseline.reason)}).`
        : `**No baseline:** ${escapeMarkdown(verdict.baseline.reason)}. Regression checks could not compare and did not pass.`;
  const summary = [`${pass} passed, ${fail} failed, ${inconclusive} inconclusive.`, baseline, options.runUrl ? `[Workflow run](${options.runUrl})` : undefined]
    .filter((s): s is string => s !== undefined)
    .join(" ");
  const head = [marker ? REPORT_MARKER : undefined, headline, "", summary].filter((s): s is string => s !== undefined).join("\n");
  const sections = [
    head,
    table(verdict),
    unplanned(verdict),
    problems(verdict),
    gatesApplied(verdict),
    againstSource(options.context),
    renderChart(verdict, options.keyMetric, options.context),
  ].filter((s): s is string => s !== undefined);
  const full = [...sections, details(verdict)].join("\n\n") + "\n";
  if (full.length <= max) return full;
  const withoutRaw = [...sections, "<details><summary>Raw figures</summary>\n\nToo long for a comment: see the run's report artifact.\n\n</details>"].join("\n\n") + "\n";
  if (withoutRaw.length <= max) return withoutRaw;
  const note = "\n\n… (cut to fit GitHub's size limit; see the run's report artifact)\n";
  return withoutRaw.slice(0, max - note.length) + note;
}
