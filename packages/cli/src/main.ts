import { ConfigurationError, describeError } from "@slmops/diagnostics";
import { parseCommandArgs } from "./args.js";
import type { Command } from "./command.js";
import { commands as defaultCommands } from "./commands/index.js";
import { UsageError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { commandHelp, mainHelp, usageLine } from "./help.js";
import type { Io } from "./io.js";
import { styleFor } from "./io.js";
import { closest } from "./suggest.js";
import { cliVersion } from "./version.js";

/**
 * Runs `slmops` with the given arguments (without `node` and the script) and
 * returns the exit code. Never throws: a user's mistake is printed as one
 * clear message, an internal error with its cause chain.
 */
export async function main(argv: readonly string[], io: Io, commands: readonly Command[] = defaultCommands): Promise<number> {
  const out = styleFor(io.stdoutIsTTY, io.env);
  const err = styleFor(io.stderrIsTTY, io.env);
  let command: Command | undefined;
  try {
    const [first, ...rest] = argv;
    if (first === undefined || first === "--help" || first === "-h" || first === "help") {
      const topic = first === "help" ? rest[0] : undefined;
      const target = topic === undefined ? undefined : findCommand(commands, topic);
      io.stdout.write(target ? commandHelp(target, out) : mainHelp(commands, out));
      return first === undefined ? ExitCode.usage : ExitCode.ok;
    }
    if (first === "--version" || first === "-V") {
      io.stdout.write(`${cliVersion()}\n`);
      return ExitCode.ok;
    }
    if (first.startsWith("-")) {
      const suggestion = closest(first.replace(/^-+/, ""), ["help", "version"]);
      throw new UsageError(`Unknown option \`${first}\`; a command comes first.`, {
        hint: suggestion ? `did you mean \`--${suggestion}\`?` : "run `slmops --help` to see the commands.",
      });
    }
    command = findCommand(commands, first);
    const args = parseCommandArgs(command, rest);
    if (args.help) {
      io.stdout.write(commandHelp(command, out));
      return ExitCode.ok;
    }
    return await command.run({ values: args.values, positionals: args.positionals, io, style: out });
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${err.red("error:")} ${error.message}\n`);
      if (error.hint) io.stderr.write(`  ${err.dim("hint:")} ${error.hint}\n`);
      const usage = error.command ? commands.find((c) => c.name === error.command) : undefined;
      io.stderr.write(usage ? `${usageLine(usage)}\n` : "Usage: slmops <command> [options]   (slmops --help)\n");
      return ExitCode.usage;
    }
    if (error instanceof ConfigurationError) {
      io.stderr.write(`${err.red("error:")} ${describeError(error)}\n`);
      return ExitCode.failure;
    }
    io.stderr.write(
      `${err.red("internal error:")} slmops${command ? ` ${command.name}` : ""} failed unexpectedly; please report this with the details below.\n` +
        `${describeError(error)}\n`,
    );
    return ExitCode.failure;
  }
}

function findCommand(commands: readonly Command[], name: string): Command {
  const found = commands.find((c) => c.name === name);
  if (found) return found;
  const suggestion = closest(name, commands.map((c) => c.name));
  throw new UsageError(`Unknown command \`${name}\`.`, {
    hint: suggestion ? `did you mean \`slmops ${suggestion}\`?` : `the commands are: ${commands.map((c) => c.name).join(", ")}.`,
  });
}
