/**
 * Problems with a source location, the error classes that carry them, and
 * their formatting. Every package reports user mistakes through these types so
 * that the CLI, the actions and the tests speak the same language.
 */

import { terminalText } from "./terminal-text.js";

export { terminalText, type TerminalTextOptions } from "./terminal-text.js";
export { decodeUtf8, firstInvalidUtf8, positionOfOffset } from "./text-position.js";

import { adviceFor, isEnvironmentCode, systemErrorCode, type FileOperation } from "./environment-advice.js";

export { isEnvironmentCode, systemErrorCode, type FileOperation } from "./environment-advice.js";

export type Severity = "error" | "warning" | "notice";

/** A 1-based position in a text file. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** One problem found in a user's input, pointing at where it is. */
export interface Diagnostic {
  readonly severity: Severity;
  /** A stable, machine-readable identifier, e.g. `schema/additional-property`. */
  readonly code: string;
  /** One sentence saying what is wrong. */
  readonly message: string;
  /** Path of the file, as the user named it (relative where possible). */
  readonly file: string;
  /** 1-based line and column of the start of the offending text. */
  readonly line: number;
  readonly column: number;
  /** 1-based end of the offending text, when known. */
  readonly endLine?: number;
  readonly endColumn?: number;
  /** How to fix it, when that helps ("did you mean `rpi5`?"). */
  readonly hint?: string;
  /** JSON pointer to the value inside the document, when there is one. */
  readonly pointer?: string;
}

/**
 * `file:line:col: severity: message` and, on a second line, the hint. The
 * file, message and hint quote user input, so each is one line of
 * {@link terminalText}.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const head = `${terminalText(d.file)}:${d.line}:${d.column}: ${d.severity}: ${terminalText(d.message)}`;
  return d.hint ? `${head}\n  hint: ${terminalText(d.hint)}` : head;
}

/** Sort by file, then position, then message, so output is deterministic. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  if (a.line !== b.line) return a.line - b.line;
  if (a.column !== b.column) return a.column - b.column;
  if (a.message !== b.message) return a.message < b.message ? -1 : 1;
  return 0;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** Base class of every error slmops throws on purpose. */
export class SlmopsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A mistake in what the user gave us (a manifest, a flag, a model file). It is
 * shown as its message alone, never with a stack trace.
 */
export class ConfigurationError extends SlmopsError {
  readonly diagnostics: readonly Diagnostic[];

  constructor(message: string, options?: { cause?: unknown; diagnostics?: readonly Diagnostic[] }) {
    super(message, options);
    this.diagnostics = options?.diagnostics ?? [];
  }
}

export function isConfigurationError(error: unknown): error is ConfigurationError {
  return error instanceof ConfigurationError;
}

export interface EnvironmentErrorOptions {
  readonly operation: FileOperation;
  /** The path, as the user should see it. */
  readonly path: string;
  /** The system error code; one {@link isEnvironmentCode} accepts. */
  readonly code: string;
  /** The flag and value that named the path (`--out out/report.json`), for the hint. */
  readonly option?: { readonly name: string; readonly value: string };
  readonly cause?: unknown;
}

/**
 * A file operation the environment refused. The message names the path, the
 * reason and the code, and (on a second line) what to do.
 */
export class EnvironmentError extends ConfigurationError {
  readonly operation: FileOperation;
  readonly path: string;
  readonly code: string;
  readonly reason: string;
  readonly hint: string;

  constructor(options: EnvironmentErrorOptions) {
    const advice = adviceFor(options.code, options.operation) ?? { reason: "the system refused", hint: (e: string) => e };
    const elsewhere = options.option ? `pass another ${options.option.name}` : "write somewhere else";
    const verb = options.operation === "write" ? "write" : "create the directory";
    const given = options.option ? ` (${options.option.name} ${options.option.value})` : "";
    const reason = advice.reason;
    const hint = advice.hint(elsewhere);
    super(`cannot ${verb} ${options.path}${given}: ${reason} (${options.code})\n  hint: ${hint}`, { cause: options.cause });
    this.operation = options.operation;
    this.path = options.path;
    this.code = options.code;
    this.reason = reason;
    this.hint = hint;
  }

  /**
   * The environment error a failed file operation amounts to, or undefined
   * when its code is not one the environment causes (then it is a bug and
   * should stay an internal error). An EnvironmentError given as `error`
   * is re-told with the new path and option.
   */
  static from(
    error: unknown,
    context: { readonly operation?: FileOperation; readonly path: string; readonly option?: { readonly name: string; readonly value: string } },
  ): EnvironmentError | undefined {
    const operation = context.operation ?? (error instanceof EnvironmentError ? error.operation : "write");
    const code = systemErrorCode(error);
    if (code === undefined || !isEnvironmentCode(code, operation)) return undefined;
    return new EnvironmentError({ operation, path: context.path, code, cause: error, ...(context.option ? { option: context.option } : {}) });
  }
}

/**
 * How to show any error to a person: a user mistake as its message (and its
 * diagnostics), anything else with its full cause chain so it can be reported.
 */
export function describeError(error: unknown): string {
  if (error instanceof ConfigurationError) {
    // A message quotes what the user gave (a path, an id): a terminal must not act on it.
    if (error.diagnostics.length === 0) return terminalText(error.message, { multiline: true });
    return [...error.diagnostics].sort(compareDiagnostics).map(formatDiagnostic).join("\n");
  }
  const lines: string[] = [];
  let current: unknown = error;
  let depth = 0;
  while (current !== undefined && current !== null && depth < 16) {
    if (current instanceof Error) {
      lines.push(depth === 0 ? (current.stack ?? String(current)) : `Caused by: ${current.stack ?? String(current)}`);
      current = (current as Error & { cause?: unknown }).cause;
    } else {
      lines.push(depth === 0 ? String(current) : `Caused by: ${String(current)}`);
      current = undefined;
    }
    depth++;
  }
  return terminalText(lines.join("\n"), { multiline: true });
}
