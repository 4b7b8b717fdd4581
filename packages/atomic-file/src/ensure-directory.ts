import { mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { EnvironmentError, systemErrorCode } from "@slmops/diagnostics";

/**
 * Creates `directory` and its missing parents (`mkdir -p`). A refusal by the
 * machine (a file in the way, a read-only file system, no space) is an
 * {@link EnvironmentError}; any other failure stays internal.
 */
export async function ensureDirectory(directory: string): Promise<void> {
  try {
    await mkdir(directory, { recursive: true });
  } catch (error) {
    // A recursive mkdir says ENOENT for some refusals (a read-only file system); one level at a time tells the real one.
    const real = systemErrorCode(error) === "ENOENT" ? ((await createOneByOne(directory).catch((e: unknown) => e)) ?? error) : error;
    throw EnvironmentError.from(real, { operation: "create-directory", path: directory }) ?? real;
  }
}

/** `mkdir -p` one level at a time; rejects with the first level's own error. */
async function createOneByOne(directory: string): Promise<undefined> {
  const levels: string[] = [];
  for (let at = path.resolve(directory); ; at = path.dirname(at)) {
    levels.unshift(at);
    if (path.dirname(at) === at) break;
  }
  for (const level of levels) {
    try {
      await mkdir(level);
    } catch (error) {
      if (systemErrorCode(error) !== "EEXIST" || !(await stat(level)).isDirectory()) throw error;
    }
  }
  return undefined;
}
