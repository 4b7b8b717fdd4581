import type { CommandContext } from "./command.js";
import { UsageError } from "./errors.js";

/**
 * The value of the string option `--<name>`, as given, or undefined when it
 * was not given; an empty or blank value is a usage error of `command`.
 */
export function stringOption(context: CommandContext, name: string, command: string): string | undefined {
  const value = context.values[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.trim() === "") throw new UsageError(`Option \`--${name}\` needs a value.`, { command });
  return value;
}
