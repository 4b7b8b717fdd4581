import { parseArgs } from "node:util";
import { terminalText } from "@slmops/diagnostics";
import type { Command } from "./command.js";
import { UsageError } from "./errors.js";
import { closest } from "./suggest.js";

export interface ParsedArgs {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
  readonly help: boolean;
}

type ParseArgsOptions = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

/**
 * Parses a command's arguments strictly; turns every parse failure into a
 * {@link UsageError} with a "did you mean" hint where one fits.
 */
export function parseCommandArgs(command: Command, args: readonly string[]): ParsedArgs {
  const options: ParseArgsOptions = { help: { type: "boolean", short: "h" } };
  for (const [name, spec] of Object.entries(command.options)) {
    // Every option is collected as a list so that a repeated one is seen, not silently cut to its last value.
    options[name] = { type: spec.type, multiple: true, ...(spec.short ? { short: spec.short } : {}) };
  }
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: attachNegativeNumbers(command, args), options, allowPositionals: true, strict: true });
  } catch (error) {
    throw toUsageError(command, error);
  }
  const help = parsed.values.help === true;
  const values: Record<string, string | boolean | undefined> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (name !== "help") values[name] = single(command, name, value);
  }
  if (!help) {
    const max = command.positionals.length;
    const min = command.positionals.filter((p) => !p.optional).length;
    if (parsed.positionals.length > max) {
      const extra = parsed.positionals[max] ?? "";
      throw new UsageError(`Unexpected argument \`${extra}\` for \`slmops ${command.name}\`.`, {
        command: command.name,
        hint: extra.startsWith("-") ? undefined : `\`slmops ${command.name}\` takes at most ${max} argument${max === 1 ? "" : "s"}.`,
      });
    }
    if (parsed.positionals.length < min) {
      const missing = command.positionals[parsed.positionals.length];
      throw new UsageError(`Missing argument \`${missing?.name ?? ""}\` for \`slmops ${command.name}\`.`, { command: command.name });
    }
  }
  return { values, positionals: parsed.positionals, help };
}

/**
 * One value per option. A repeatable option's values are one list, joined
 * with commas (the form it takes in one flag: `--variant a --variant b` is
 * `--variant a,b`). A boolean flag given twice is the flag. Any other option
 * given twice is refused: keeping one of the values would ignore the other.
 */
function single(command: Command, name: string, value: string | boolean | (string | boolean)[] | undefined): string | boolean | undefined {
  if (!Array.isArray(value)) return value;
  const spec = command.options[name];
  if (spec?.type !== "string") return value.at(-1);
  const strings = value.map(String);
  if (spec.repeatable) return strings.join(",");
  if (strings.length > 1) {
    throw new UsageError(`Option \`--${name}\` was given ${strings.length} times (${strings.map((v) => `\`${terminalText(v)}\``).join(", ")}); it takes one value.`, {
      command: command.name,
      hint: "keep the one you mean.",
    });
  }
  return strings[0];
}

/**
 * `--min-iterations -5`: parseArgs takes `-5` for an option and reports that
 * `--min-iterations` has no value, which is not the mistake. A value-taking
 * option followed by something that reads as a negative number gets it as
 * its value (`--min-iterations=-5`), so the option's own check can say what
 * values it takes. No option of slmops is a digit, so nothing is lost.
 */
function attachNegativeNumbers(command: Command, args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const next = args[i + 1];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const name = /^--([^=]+)$/u.exec(arg)?.[1];
    if (name !== undefined && command.options[name]?.type === "string" && next !== undefined && /^-\.?\d/u.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

function toUsageError(command: Command, error: unknown): UsageError {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const names = Object.keys(command.options);
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const flag = /'([^']+)'/.exec(message)?.[1] ?? "";
    const bare = flag.replace(/^-+/, "").split("=")[0] ?? "";
    const suggestion = closest(bare, [...names, "help"]);
    return new UsageError(`Unknown option \`${flag}\` for \`slmops ${command.name}\`.`, {
      command: command.name,
      hint: suggestion ? `did you mean \`--${suggestion}\`?` : `run \`slmops ${command.name} --help\` to see its options.`,
      cause: error,
    });
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const flag = /'(--?[\w-]+)/.exec(message)?.[1] ?? "";
    const name = flag.replace(/^-+/, "");
    const spec = command.options[name] ?? Object.entries(command.options).find(([, s]) => `-${s.short}` === flag)?.[1];
    const text =
      spec?.type === "string"
        ? `Option \`${flag}\` needs a value, e.g. \`${flag} ${spec.valueName ?? "value"}\`.`
        : `Option \`${flag}\` takes no value.`;
    return new UsageError(text, { command: command.name, cause: error });
  }
  return new UsageError(message.split("\n")[0] ?? message, { command: command.name, cause: error });
}
