/**
 * The `slmops` command line as a library: `main(argv, io)` runs a command and
 * returns its exit code; `commands` lists them.
 */
export { main } from "./main.js";
export { commands } from "./commands/index.js";
export { ExitCode } from "./exit-codes.js";
export { UsageError } from "./errors.js";
export { processIo, styleFor, type Io, type Style } from "./io.js";
export { jsonOption, type Command, type CommandContext, type OptionSpec, type PositionalSpec } from "./command.js";
export { closest, editDistance } from "./suggest.js";
