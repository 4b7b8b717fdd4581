import type { Severity } from "@slmops/diagnostics";

/**
 * A problem found in the manifest's data, before it has a line and column:
 * the JSON pointer of the value it is about, and whether to point at the
 * value or at its key.
 */
export interface Problem {
  readonly severity: Severity;
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  readonly pointer: string;
  /** Point at the key (`key`, e.g. an unknown key) or at the value (`value`, the default). */
  readonly at?: "key" | "value";
}

export function error(code: string, pointer: string, message: string, hint?: string, at?: "key" | "value"): Problem {
  return hint === undefined ? { severity: "error", code, pointer, message, at } : { severity: "error", code, pointer, message, hint, at };
}

export function warning(code: string, pointer: string, message: string, hint?: string): Problem {
  return hint === undefined ? { severity: "warning", code, pointer, message } : { severity: "warning", code, pointer, message, hint };
}
