import { mkdir } from "node:fs/promises";
import { EnvironmentError } from "@slmops/diagnostics";

/**
 * Creates `directory` and its missing parents (`mkdir -p`). A refusal by the
 * machine (a file in the way, a read-only file system, no space) is an
 * {@link EnvironmentError}; any other failure stays internal.
 */
export async function ensureDirectory(directory: string): Promise<void> {
  try {
    await mkdir(directory, { recursive: true });
  } catch (error) {
    throw EnvironmentError.from(error, { operation: "create-directory", path: directory }) ?? error;
  }
}
