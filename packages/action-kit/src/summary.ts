import { appendFile } from "node:fs/promises";
import type { Diagnostic } from "@slmops/diagnostics";
import { compareDiagnostics } from "@slmops/diagnostics";
import { workspaceRelativePath } from "./annotate.js";

/**
 * Job-summary building blocks. Each returns an HTML/Markdown fragment with
 * every piece of text escaped, so untrusted content (messages quoting a
 * user's file) cannot inject markup; {@link writeSummary} appends fragments to
 * the step's summary within GitHub's size limit.
 */

/** GitHub refuses a step summary larger than 1 MiB. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024;

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text made safe to place inside HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** A level-2..4 heading. */
export function heading(text: string, level: 2 | 3 | 4 = 2): string {
  return `<h${level}>${escapeHtml(text)}</h${level}>\n`;
}

/** A paragraph of plain text. */
export function paragraph(text: string): string {
  return `<p>${escapeHtml(text)}</p>\n`;
}

/** Inline code. */
export function code(text: string): string {
  return `<code>${escapeHtml(text)}</code>`;
}

/** A cell that is already HTML (built with these helpers), not text to escape. */
export interface HtmlCell {
  readonly html: string;
}

export type Cell = string | number | HtmlCell;

function cellHtml(cell: Cell): string {
  if (typeof cell === "object") return cell.html;
  return escapeHtml(String(cell));
}

/** A table with a header row; text cells are escaped, {@link HtmlCell}s are kept. */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const head = `<tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>`;
  const body = rows.map((row) => `<tr>${row.map((c) => `<td>${cellHtml(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table>\n${head}\n${body}\n</table>\n`;
}

/** A collapsed section; `contentHtml` is a fragment built with these helpers. */
export function details(label: string, contentHtml: string, open = false): string {
  return `<details${open ? " open" : ""}><summary>${escapeHtml(label)}</summary>\n\n${contentHtml}\n</details>\n`;
}

export interface DiagnosticsTableOptions {
  /** Directory paths are shown relative to; defaults to the workspace. */
  readonly workspace?: string;
  /** Rows shown at most; a final row says how many were left out. Default 500. */
  readonly maxRows?: number;
}

/** Diagnostics as a table: severity, `file:line:col`, message and hint. */
export function diagnosticsTable(diagnostics: readonly Diagnostic[], options: DiagnosticsTableOptions = {}): string {
  const max = options.maxRows ?? 500;
  const sorted = [...diagnostics].sort(compareDiagnostics);
  const shown = sorted.slice(0, max);
  const rows: Cell[][] = shown.map((d) => [
    d.severity,
    { html: code(`${workspaceRelativePath(d.file, options.workspace)}:${d.line}:${d.column}`) },
    d.message,
    d.hint ?? "",
  ]);
  if (sorted.length > shown.length) rows.push(["", "", `… and ${sorted.length - shown.length} more`, ""]);
  return table(["severity", "location", "problem", "hint"], rows);
}

/**
 * Appends fragments to the step summary (`GITHUB_STEP_SUMMARY`). Fragments that
 * would take the summary past {@link SUMMARY_LIMIT_BYTES} are replaced by a
 * note. Returns false, writing nothing, when no summary file is set (outside
 * GitHub Actions).
 */
export async function writeSummary(fragments: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return false;
  const note = paragraph("The rest of this summary was left out: it would exceed GitHub's 1 MiB limit. See the log.");
  const budget = SUMMARY_LIMIT_BYTES - Buffer.byteLength(note);
  let used = 0;
  const kept: string[] = [];
  for (const fragment of fragments) {
    const size = Buffer.byteLength(fragment);
    if (used + size > budget) {
      kept.push(note);
      break;
    }
    kept.push(fragment);
    used += size;
  }
  await appendFile(file, kept.join(""), { encoding: "utf8" });
  return true;
}
