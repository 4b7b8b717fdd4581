import { isAbsolute, relative, sep } from "node:path";
import { EnvironmentError } from "@slmops/diagnostics";

/** A flag that names where a command writes, as the user gave it. */
export interface OutputOption {
  /** `--out`, `--markdown` … */
  readonly name: string;
  readonly value: string;
}

/**
 * Runs `write`, which writes where `option` says. When the machine refuses
 * (an {@link EnvironmentError}: disk full, read-only, a file in the way of a
 * directory …) the error is told again with the flag and the path as the
 * user would write it (relative to `cwd` unless the flag was absolute), so
 * the hint can say which flag to change. Anything else passes unchanged.
 */
export async function writingOutput<T>(option: OutputOption, cwd: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!(error instanceof EnvironmentError)) throw error;
    const shown = isAbsolute(option.value) ? error.path : relative(cwd, error.path).split(sep).join("/") || ".";
    throw EnvironmentError.from(error, { path: shown, option }) ?? error;
  }
}
