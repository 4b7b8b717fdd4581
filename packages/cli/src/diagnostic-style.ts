import type { Diagnostic } from "@slmops/diagnostics";
import { formatDiagnostic } from "@slmops/diagnostics";
import type { Style } from "./io.js";

/** How much of a diagnostic `styleDiagnostic` colors. */
export interface DiagnosticStyleOptions {
  /** Also bold the `file:line:col` location and dim the lines after the first (the hint). Default false. */
  readonly emphasis?: boolean;
}

/**
 * `formatDiagnostic`'s text with its severity colored (red error, yellow
 * warning, cyan otherwise); with a plain style the text is unchanged.
 */
export function styleDiagnostic(diagnostic: Diagnostic, style: Style, options: DiagnosticStyleOptions = {}): string {
  const text = formatDiagnostic(diagnostic);
  const marker = `: ${diagnostic.severity}: `;
  const at = text.indexOf(marker);
  if (at < 0) return text;
  const paint = diagnostic.severity === "error" ? style.red : diagnostic.severity === "warning" ? style.yellow : style.cyan;
  const emphasis = options.emphasis === true;
  const [head = "", ...rest] = text.slice(at + marker.length).split("\n");
  const location = text.slice(0, at);
  const first = `${emphasis ? style.bold(location) : location}: ${paint(`${diagnostic.severity}:`)} ${head}`;
  return [first, ...rest.map((line) => (emphasis ? style.dim(line) : line))].join("\n");
}
