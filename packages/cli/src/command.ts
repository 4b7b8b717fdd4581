import type { Io, Style } from "./io.js";

/** A flag a command accepts. Long names are kebab-case. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly description: string;
  /** Placeholder shown in help for a string option, e.g. `dir`. */
  readonly valueName?: string;
  /**
   * A string option that may be given several times, each value a
   * comma-separated list (the filters, see `filterOption` in options.ts).
   * Any other string option given twice is refused.
   */
  readonly repeatable?: boolean;
}

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
  readonly optional?: boolean;
}

/** What a command gets when it runs. */
export interface CommandContext {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
  readonly io: Io;
  /** Styling for stdout. */
  readonly style: Style;
}

/**
 * One `slmops <name>` command. Each lives in its own module under
 * `src/commands/` and is listed in `src/commands/index.ts`.
 */
export interface Command {
  readonly name: string;
  /** One line for `slmops --help`. */
  readonly summary: string;
  /** Longer text for `slmops <name> --help`. */
  readonly description?: string;
  readonly positionals: readonly PositionalSpec[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Example invocations shown in help. */
  readonly examples?: readonly string[];
  /** Runs the command and returns its exit code. Throws `ConfigurationError` for a user's mistake. */
  run(context: CommandContext): Promise<number>;
}

/** The `--json` flag every command that produces results offers. */
export const jsonOption: OptionSpec = {
  type: "boolean",
  description: "print the result as JSON on stdout (errors still go to stderr)",
};
