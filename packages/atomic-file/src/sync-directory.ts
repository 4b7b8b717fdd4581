import { open } from "node:fs/promises";

/** Errors of systems that cannot open or fsync a directory (Windows); there the rename is as durable as it gets. */
const UNSUPPORTED = new Set(["EISDIR", "EPERM", "EACCES", "EINVAL", "ENOTSUP", "EBADF"]);

/**
 * Flushes a directory's entries to disk, so that a rename inside it survives
 * a power cut. A no-op where the platform cannot do it.
 */
export async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, "r");
  } catch (error) {
    if (UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? "")) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
  } finally {
    await handle.close();
  }
}
