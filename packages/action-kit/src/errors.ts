import { ConfigurationError, describeError } from "@slmops/diagnostics";

/**
 * Throws a programming mistake in the action itself (not the user's): an input
 * name that is not kebab-case, a limit that is not a positive integer.
 */
export function assertKebabCase(name: string): void {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name)) {
    throw new TypeError(`Action input and output names are kebab-case (e.g. \`fail-on-invalid\`); got \`${name}\`.`);
  }
}

/** One-line reason for a failed step: the user's message, or an internal error's own message. */
export function failureMessage(error: unknown): string {
  if (error instanceof ConfigurationError) return error.message;
  if (error instanceof Error) return `Internal error: ${error.message}`;
  return `Internal error: ${String(error)}`;
}

/** The full cause chain of an internal error, for the log. */
export function internalErrorDetails(error: unknown): string {
  return describeError(error);
}
