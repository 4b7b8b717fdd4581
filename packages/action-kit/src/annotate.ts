import { isAbsolute, relative, resolve, sep } from "node:path";
import * as core from "@actions/core";
import type { Diagnostic, Severity } from "@slmops/diagnostics";
import { compareDiagnostics, formatDiagnostic } from "@slmops/diagnostics";
import { workspaceDirectory } from "./inputs.js";

/**
 * GitHub shows at most 10 error and 10 warning annotations created by
 * workflow commands per step, and 50 per job; the rest are dropped silently.
 * Notices get the same per-step allowance here.
 */
export const ANNOTATION_LIMITS = Object.freeze({
  perStep: Object.freeze({ error: 10, warning: 10, notice: 10 } satisfies Record<Severity, number>),
  perJob: 50,
});

export interface AnnotateOptions {
  /** Directory annotation paths are made relative to; defaults to the workspace. */
  readonly workspace?: string;
  /**
   * Error annotations to leave free for the step's own failure message
   * (`setFailed` is itself an error annotation). Default 1.
   */
  readonly reserveErrors?: number;
  /** Annotations this step may still create in the job (default {@link ANNOTATION_LIMITS.perJob}). */
  readonly jobBudget?: number;
  /** Annotation title for a diagnostic; defaults to its code. */
  readonly title?: (diagnostic: Diagnostic) => string;
}

export interface AnnotateResult {
  /** Diagnostics that became annotations. */
  readonly annotated: readonly Diagnostic[];
  /** Diagnostics over the limits, listed in the log instead. */
  readonly omitted: readonly Diagnostic[];
}

/** A diagnostic's file as a workspace-relative `/` path, so the annotation lands on the pull request diff. */
export function workspaceRelativePath(file: string, workspace: string = workspaceDirectory()): string {
  const absolute = resolve(workspace, file);
  const rel = relative(resolve(workspace), absolute);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return file;
  return rel.split(sep).join("/");
}

/** The workflow-command properties of one diagnostic. */
export function annotationProperties(diagnostic: Diagnostic, workspace?: string, title?: string): core.AnnotationProperties {
  const line = Math.max(1, diagnostic.line);
  const endLine = diagnostic.endLine !== undefined && diagnostic.endLine >= line ? diagnostic.endLine : line;
  const props: core.AnnotationProperties = {
    title: title ?? diagnostic.code,
    file: workspaceRelativePath(diagnostic.file, workspace),
    startLine: line,
    endLine,
  };
  // GitHub ignores columns on an annotation spanning several lines.
  if (endLine === line) {
    const column = Math.max(1, diagnostic.column);
    const endColumn = diagnostic.endColumn !== undefined && diagnostic.endColumn >= column ? diagnostic.endColumn : column;
    return { ...props, startColumn: column, endColumn };
  }
  return props;
}

function annotationMessage(diagnostic: Diagnostic): string {
  return diagnostic.hint ? `${diagnostic.message}\nHint: ${diagnostic.hint}` : diagnostic.message;
}

/**
 * Turns diagnostics into GitHub annotations on their file and line, in file
 * order, within GitHub's limits. Every diagnostic over a limit is written to
 * the log (as `file:line:col: severity: message`) under a line saying how many
 * were not annotated, so none is lost.
 */
export function annotate(diagnostics: readonly Diagnostic[], options: AnnotateOptions = {}): AnnotateResult {
  const sorted = [...diagnostics].sort(compareDiagnostics);
  const reserve = Math.max(0, options.reserveErrors ?? 1);
  const left: Record<Severity, number> = {
    error: Math.max(0, ANNOTATION_LIMITS.perStep.error - reserve),
    warning: ANNOTATION_LIMITS.perStep.warning,
    notice: ANNOTATION_LIMITS.perStep.notice,
  };
  let budget = Math.max(0, options.jobBudget ?? ANNOTATION_LIMITS.perJob);
  const annotated: Diagnostic[] = [];
  const omitted: Diagnostic[] = [];
  for (const diagnostic of sorted) {
    if (left[diagnostic.severity] <= 0 || budget <= 0) {
      omitted.push(diagnostic);
      continue;
    }
    left[diagnostic.severity]--;
    budget--;
    annotated.push(diagnostic);
    const props = annotationProperties(diagnostic, options.workspace, options.title?.(diagnostic));
    const message = annotationMessage(diagnostic);
    if (diagnostic.severity === "error") core.error(message, props);
    else if (diagnostic.severity === "warning") core.warning(message, props);
    else core.notice(message, props);
  }
  if (omitted.length > 0) {
    const what = omitted.length === 1 ? "1 more problem was" : `${omitted.length} more problems were`;
    core.info(
      `${what} not annotated: GitHub shows at most ${ANNOTATION_LIMITS.perStep.error} error and ` +
        `${ANNOTATION_LIMITS.perStep.warning} warning annotations per step. All of them:`,
    );
    for (const diagnostic of omitted) {
      core.info(formatDiagnostic({ ...diagnostic, file: workspaceRelativePath(diagnostic.file, options.workspace) }));
    }
  }
  return { annotated, omitted };
}
