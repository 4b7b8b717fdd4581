import { terminalText } from "@slmops/diagnostics";
import type { CommandContext, OptionSpec } from "./command.js";
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

/** Bounds of a counting option (`@slmops/manifest/bench-bounds` has those of the bench settings). */
export interface CountBounds {
  readonly minimum: number;
  readonly maximum: number;
}

/**
 * The whole-number option `--<name>` within `bounds`, or undefined when it
 * was not given. Anything else (a negative number, a fraction, a number past
 * the maximum that would only fail later, in every run) is a usage error of
 * `command` saying which values it takes.
 */
export function countOption(context: CommandContext, name: string, command: string, bounds: CountBounds): number | undefined {
  const value = stringOption(context, name, command)?.trim();
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/u.test(value) || !Number.isSafeInteger(n) || n < bounds.minimum || n > bounds.maximum) {
    const what = bounds.minimum === 1 ? "a positive whole number" : `a whole number of at least ${bounds.minimum}`;
    throw new UsageError(`Option \`--${name}\` must be ${what}, at most ${bounds.maximum}; got \`${value}\`.`, { command });
  }
  return n;
}

/**
 * A filter option's spec (`--model`, `--variant`, `--device`): repeatable,
 * each value comma-separated. Every command declares its filters with this,
 * and reads them with {@link filterOption}, so they take the same forms.
 */
export function filterSpec(valueName: string, description: string): OptionSpec {
  return { type: "string", valueName, repeatable: true, description: `${description}; repeatable, or comma-separated` };
}

/**
 * The ids a filter option names (`--variant int4,int8 --variant fp16`), in
 * the order given, without repeats; undefined when it was not given. An
 * empty id (`--variant int4,`) is a usage error of `command`.
 */
export function filterOption(context: CommandContext, name: string, command: string): string[] | undefined {
  const value = stringOption(context, name, command);
  if (value === undefined) return undefined;
  const ids = value.split(",").map((id) => id.trim());
  if (ids.some((id) => id === "")) {
    throw new UsageError(`Option \`--${name}\` has an empty id in \`${terminalText(value)}\`.`, {
      command,
      hint: `give ids separated by commas, e.g. \`--${name} a,b\`, or repeat the option.`,
    });
  }
  return [...new Set(ids)];
}
