/**
 * A value that is not written the way a unit is expected. It is a user's
 * mistake: callers show `message` (and `hint`), never a stack trace. The
 * manifest turns it into a diagnostic at the offending YAML node; the CLI
 * wraps it in a `ConfigurationError`.
 */
export class UnitError extends Error {
  /** What kind of value was expected: `size`, `duration` or `percentage`. */
  readonly expected: UnitKind;
  /** The text as it was written. */
  readonly input: string;
  /** How to write it instead, e.g. "write `512MiB`, not `512 mb`". */
  readonly hint: string | undefined;

  constructor(expected: UnitKind, input: string, message: string, hint?: string) {
    super(message);
    this.name = "UnitError";
    this.expected = expected;
    this.input = input;
    this.hint = hint;
  }
}

export type UnitKind = "size" | "duration" | "percentage";

/** The result of a `tryParse*` function: a value or the error that explains why not. */
export type UnitResult = { readonly ok: true; readonly value: number } | { readonly ok: false; readonly error: UnitError };

/** Shows a user's text in a message, shortened so a huge value cannot flood the output. */
export function quote(input: string): string {
  const shown = input.length > 40 ? `${input.slice(0, 37)}...` : input;
  return `\`${shown}\``;
}
