/**
 * The verdict and its bench reports as one self-contained HTML page: the same
 * content as the Markdown report (headline, verdict table with deltas worded
 * better/worse, checks that did not pass, each device against the fp32
 * source with spread, iteration counts, run rules and fingerprint, charts,
 * raw figures). Charts are inline SVG whose bars carry `<title>` tooltips
 * and whose value axis starts at zero. Styles are inline; the page loads
 * nothing, and its Content-Security-Policy forbids it to.
 */
import { applicabilityLines, checksText, formatMetricValue, NO_BASELINE_YET, requirementsText, type CheckResult, type PairVerdict, type Verdict } from "@slmops/gate";
import {
  chartOf,
  columnLabel,
  deviceContexts,
  HEADLINE,
  KEY_METRICS,
  metricCellParts,
  metricColumns,
  OUTCOME_ICON,
  rawFigures,
  spreadText,
  type Chart,
  type ReportContext,
} from "@slmops/github-report";
import { escapeHtml } from "./html-text.js";

export interface HtmlReportOptions {
  /** Heading text after the icon (default `slmops`). */
  readonly title?: string;
  /** The bench reports behind the verdict. */
  readonly context?: ReportContext;
  /** Metrics charted, in order (default: the key metric, then peak memory and model size where reported). */
  readonly chartMetrics?: readonly string[];
}

/** No fetch, no frame, no form, no remote image or style: everything the page needs is in it. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const e = escapeHtml;

function metricCell(pair: PairVerdict, metric: string): string {
  const { value, icon, delta } = metricCellParts(pair, metric);
  if (value === undefined) return `<td class="num">—${icon}</td>`;
  const tone = delta?.endsWith("worse") ? "worse" : delta?.endsWith("better") ? "better" : "";
  return `<td class="num">${e(value)}${icon}${delta ? ` <span class="delta ${tone}">(${e(delta)})</span>` : ""}</td>`;
}

function verdictTable(verdict: Verdict): string {
  const columns = metricColumns(verdict);
  const head = ["Device", "Variant", "Result", ...columns.map(columnLabel)].map((h) => `<th>${e(h)}</th>`).join("");
  const rows = verdict.pairs.map((p) => {
    const result = !p.reported ? `${OUTCOME_ICON.fail} did not report` : p.checks.length === 0 ? "— no gate" : `${OUTCOME_ICON[p.outcome]} ${p.outcome}`;
    return `<tr class="pair"><td>${e(p.device)}</td><td>${e(p.variant)}</td><td>${e(result)}</td>${columns.map((m) => metricCell(p, m)).join("")}</tr>`;
  });
  return `<table id="verdict"><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function problems(verdict: Verdict): string {
  const notPassed = verdict.checks.filter((c) => c.outcome !== "pass");
  if (notPassed.length === 0) return "";
  const where = (c: CheckResult) => (c.location ? ` <span class="where">(${e(`${c.location.file}:${c.location.line}`)})</span>` : "");
  const items = notPassed.map(
    (c) => `<li>${OUTCOME_ICON[c.outcome]} <strong>${e(`${c.device} · ${c.variant}`)}</strong> — ${e(c.message)}${where(c)}${c.advice ? `<br><span class="advice">${e(c.advice)}</span>` : ""}</li>`,
  );
  return `<h2>Checks that did not pass</h2><ul>${items.join("")}</ul>`;
}

function unplanned(verdict: Verdict): string {
  if (verdict.unplanned.length === 0) return "";
  const reason = { "unknown-device": "device not in the manifest", "unknown-variant": "variant not in the manifest", "not-planned": "not in this run's plan" } as const;
  return `<p class="note">Not gated: ${verdict.unplanned.map((u) => e(`${u.device} · ${u.variant} (${reason[u.reason]})`)).join(", ")}.</p>`;
}

/** Per device, which gates applied (on which variants) and which did not, and why. */
function gatesApplied(verdict: Verdict): string {
  if (verdict.devices.length === 0) return "";
  const parts = verdict.devices.map((d) => {
    const items = applicabilityLines(d).map((l) => `<li${l.applied ? "" : ' class="not-applied"'}>${e(l.text)}</li>`);
    return `<p><strong>${e(d.device)}</strong>: ${e(`${requirementsText(d)}; ${checksText(d.counts)}`)}</p><ul>${items.join("")}</ul>`;
  });
  return `<h2>Which gates applied</h2>${parts.join("")}`;
}

function againstSource(context: ReportContext | undefined): string {
  const devices = deviceContexts(context);
  if (devices.length === 0) return "";
  const parts = devices.map((d) => {
    const definitions = new Set<string>();
    const rows = d.rows.map((r) => {
      if (r.status === "failed") return `<tr class="row failed"><td>${e(r.label)}</td><td colspan="6">${OUTCOME_ICON.fail} ${e(r.failure ?? "failed")}</td></tr>`;
      const ratio = (aspect: string) => {
        if (r.source) return `<td class="num">fp32 source</td>`;
        const x = r.ratios.find((q) => q.aspect === aspect);
        return x ? `<td class="num${x.worse ? " worse" : ""}">${x.worse ? "⚠️ " : ""}${e(x.text)}</td>` : `<td class="num">—</td>`;
      };
      if (r.perSecond) definitions.add(r.perSecond.definition);
      const latency = r.spread ? `${e(formatMetricValue("latency-p50", r.spread.p50))} <span class="spread">(${e(spreadText(r.spread))}, ${e(r.spreadOf ?? "")})</span>` : "—";
      return (
        `<tr class="row${r.source ? " source" : ""}"><td>${e(r.label)}${r.source ? " <strong>(reference)</strong>" : ""}</td>` +
        `<td class="num">${r.iterations !== undefined ? e(`${r.iterations} (after ${r.warmup ?? 0} warm-up)`) : "—"}</td>` +
        `<td class="num">${latency}</td><td class="num">${r.perSecond ? `${e(r.perSecond.value.toPrecision(4))} †` : "—"}</td>` +
        `${ratio("speed")}${ratio("size")}${ratio("memory")}</tr>`
      );
    });
    const head = ["Variant", "Iterations", "Latency p50 (p10–p90)", "Per second", "Speed vs fp32", "Size vs fp32", "Memory vs fp32"].map((h) => `<th>${e(h)}</th>`).join("");
    return (
      `<section class="device"><h3>${e(d.device)}</h3><p><strong>Device:</strong> ${e(d.fingerprint)}.</p><p><strong>Run rules:</strong> ${e(d.runRules)}.</p>` +
      `<table class="versus"><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>` +
      [...definitions].map((t) => `<p class="definition">† ${e(t)}.</p>`).join("") +
      `</section>`
    );
  });
  return `<h2>Against the fp32 source</h2><p>Speed: fp32 latency ÷ variant latency (below 1× the variant is slower than fp32). Size and memory: the variant's share of fp32's.</p>${parts.join("")}`;
}

function tickNumber(value: number): string {
  return String(Number(value.toPrecision(3)));
}

/** A horizontal bar chart: value axis from zero, one bar per row with its value as a tooltip, the baseline as a tick. */
export function svgChart(chart: Chart): string {
  const labelWidth = 300;
  const plotWidth = 420;
  const barHeight = 22;
  const gap = 8;
  const top = 10;
  const height = top + chart.bars.length * (barHeight + gap) + 30;
  const max = Math.max(...chart.bars.map((b) => Math.max(b.value, b.baseline ?? 0)));
  const scaleMax = max > 0 ? max * 1.1 : 1;
  const x = (v: number) => labelWidth + (v / scaleMax) * plotWidth;
  const bars = chart.bars.map((b, i) => {
    const y = top + i * (barHeight + gap);
    const width = Math.max(1, x(b.value) - labelWidth);
    const tip = `${b.label}: ${b.text}${b.baseline !== undefined ? ` (baseline ${tickNumber(b.baseline)} ${chart.unit})` : ""}`;
    const baseline =
      b.baseline !== undefined
        ? `<line class="baseline" x1="${x(b.baseline).toFixed(1)}" x2="${x(b.baseline).toFixed(1)}" y1="${y - 2}" y2="${y + barHeight + 2}"><title>${e(`${b.label}: baseline ${tickNumber(b.baseline)} ${chart.unit}`)}</title></line>`
        : "";
    return (
      `<g class="bar-row"><text class="label" x="${labelWidth - 8}" y="${y + barHeight / 2 + 4}" text-anchor="end">${e(b.label)}</text>` +
      `<rect class="bar${b.source ? " source" : ""}" x="${labelWidth}" y="${y}" width="${width.toFixed(1)}" height="${barHeight}" data-value="${b.value}"><title>${e(tip)}</title></rect>` +
      `<text class="value" x="${(labelWidth + width + 4).toFixed(1)}" y="${y + barHeight / 2 + 4}">${e(b.text)}</text>${baseline}</g>`
    );
  });
  const axisY = top + chart.bars.length * (barHeight + gap);
  const ticks = [0, 0.5, 1].map((f) => {
    const v = scaleMax * f;
    return `<line class="tick" x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${top}" y2="${axisY}"/><text class="tick-label" x="${x(v).toFixed(1)}" y="${axisY + 16}" text-anchor="middle">${e(`${tickNumber(v)} ${chart.unit}`)}</text>`;
  });
  return (
    `<figure class="chart" data-metric="${e(chart.metric)}"><figcaption>${e(chart.title)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${e(chart.title)}" width="${labelWidth + plotWidth + 90}" height="${height}" viewBox="0 0 ${labelWidth + plotWidth + 90} ${height}">` +
    `<title>${e(chart.title)}</title>${ticks.join("")}<line class="axis" x1="${labelWidth}" x2="${labelWidth}" y1="${top - 4}" y2="${axisY}"/>${bars.join("")}</svg>` +
    `<p class="legend">Bars: this change${chart.bars.some((b) => b.source) ? "; grey: the fp32 source" : ""}${chart.bars.some((b) => b.baseline !== undefined) ? "; black tick: baseline" : ""}. Hover a bar for its value.</p></figure>`
  );
}

function charts(verdict: Verdict, options: HtmlReportOptions): string {
  const key = KEY_METRICS.find((m) => verdict.pairs.some((p) => typeof p.metrics[m] === "number"));
  const metrics = options.chartMetrics ?? [...new Set([...(key ? [key] : []), "peak-memory", "model-size"])];
  const rendered = metrics.map((m) => chartOf(verdict, m, options.context)).filter((c): c is Chart => c !== undefined);
  return rendered.length > 0 ? `<h2>Charts</h2>${rendered.map(svgChart).join("")}` : "";
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#1f2328;background:#fff}
.not-applied{color:#656d76}h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #d0d7de;padding-bottom:4px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;white-space:nowrap}.worse{color:#b3261e;font-weight:600}.better{color:#1a7f37}
tr.source td{background:#f6f8fa}.spread,.where,.advice,.legend,.definition{color:#59636e}
.chart{margin:16px 0}.chart figcaption{font-weight:600;margin-bottom:4px}
.bar{fill:#2f81f7}.bar.source{fill:#8c959f}.bar:hover{fill:#0550ae}.bar.source:hover{fill:#57606a}
.baseline{stroke:#1f2328;stroke-width:3}.tick{stroke:#d0d7de}.axis{stroke:#59636e}
svg text{font:12px system-ui,sans-serif;fill:#1f2328}.tick-label{fill:#59636e}
pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px}
`;

/** The report as one HTML document. Pure: the same verdict and context give the same text. */
export function renderHtmlReport(verdict: Verdict, options: HtmlReportOptions = {}): string {
  const title = `${options.title ?? "slmops"}: ${HEADLINE[verdict.outcome]}`;
  const { pass, fail, inconclusive } = verdict.counts;
  const baseline =
    verdict.baseline.status === "found"
      ? `Baseline: ${e(verdict.baseline.source)}.`
      : verdict.baseline.noneYet
        ? `<strong>${e(NO_BASELINE_YET.charAt(0).toUpperCase() + NO_BASELINE_YET.slice(1))}</strong> (${e(verdict.baseline.reason)}).`
        : `<strong>No baseline:</strong> ${e(verdict.baseline.reason)}. Regression checks could not compare and did not pass.`;
  const raw = JSON.stringify(rawFigures(verdict), (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2);
  return [
    "<!DOCTYPE html>",
    `<html lang="en"><head><meta charset="utf-8">`,
    `<meta http-equiv="Content-Security-Policy" content="${e(CONTENT_SECURITY_POLICY)}">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>${e(title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${OUTCOME_ICON[verdict.outcome]} ${e(title)}</h1>`,
    `<p>${pass} passed, ${fail} failed, ${inconclusive} inconclusive. ${baseline}</p>`,
    verdictTable(verdict),
    unplanned(verdict),
    problems(verdict),
    gatesApplied(verdict),
    againstSource(options.context),
    charts(verdict, options),
    `<details><summary>Raw figures</summary><pre>${e(raw)}</pre></details>`,
    "</body></html>",
    "",
  ].join("\n");
}
