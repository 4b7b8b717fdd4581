import { ConfigurationError } from "@slmops/diagnostics";

/**
 * The command line was wrong (unknown command or flag, bad argument count).
 * Printed as its message and hint, then the process exits with code 2.
 */
export class UsageError extends ConfigurationError {
  /** The command whose usage line to show, when known. */
  readonly command: string | undefined;
  readonly hint: string | undefined;

  constructor(message: string, options: { command?: string; hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.command = options.command;
    this.hint = options.hint;
  }
}
