import type { Command } from "./command.js";
import type { Style } from "./io.js";

function optionLabel(name: string, short: string | undefined, valueName: string | undefined): string {
  const flags = short ? `-${short}, --${name}` : `    --${name}`;
  return valueName ? `${flags} <${valueName}>` : flags;
}

function columns(rows: readonly (readonly [string, string])[], style: Style): string[] {
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${style.bold(left.padEnd(width))}  ${right}`);
}

/** `slmops <command> --help`. */
export function commandHelp(command: Command, style: Style): string {
  const args = command.positionals.map((p) => (p.optional ? `[${p.name}]` : `<${p.name}>`)).join(" ");
  const lines = [`Usage: slmops ${command.name}${args ? ` ${args}` : ""} [options]`, "", command.summary];
  if (command.description) lines.push("", command.description);
  if (command.positionals.length > 0) {
    lines.push("", "Arguments:", ...columns(command.positionals.map((p) => [p.name, p.description] as const), style));
  }
  const options = Object.entries(command.options).map(
    ([name, spec]) => [optionLabel(name, spec.short, spec.type === "string" ? (spec.valueName ?? "value") : undefined), spec.description] as const,
  );
  options.push([optionLabel("help", "h", undefined), "show this help"]);
  lines.push("", "Options:", ...columns(options, style));
  if (command.examples && command.examples.length > 0) {
    lines.push("", "Examples:", ...command.examples.map((e) => `  ${e}`));
  }
  return `${lines.join("\n")}\n`;
}

/** `slmops --help`. */
export function mainHelp(commands: readonly Command[], style: Style): string {
  const lines = [
    "Usage: slmops <command> [options]",
    "",
    "Operate small language models on edge devices the way you operate software.",
    "",
    "Commands:",
    ...columns(commands.map((c) => [c.name, c.summary] as const), style),
    "",
    "Options:",
    ...columns(
      [
        ["-h, --help", "show help (also `slmops <command> --help`)"],
        ["-V, --version", "print the version"],
      ],
      style,
    ),
    "",
    "Exit codes: 0 ok, 1 invalid input or failed check, 2 usage error.",
  ];
  return `${lines.join("\n")}\n`;
}

/** The usage line of a command, for usage errors. */
export function usageLine(command: Command): string {
  const args = command.positionals.map((p) => (p.optional ? `[${p.name}]` : `<${p.name}>`)).join(" ");
  return `Usage: slmops ${command.name}${args ? ` ${args}` : ""} [options]`;
}
