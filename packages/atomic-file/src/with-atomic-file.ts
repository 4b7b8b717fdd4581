import type { FileHandle } from "node:fs/promises";
import { TempFile, type AtomicWriteOptions } from "./temp-file.js";

/**
 * Writes `target` through `write`, all or nothing. `write` gets an open
 * handle on a new temporary file in the target's directory; when it resolves
 * the file is flushed to disk and renamed over the target, so readers (and a
 * machine that loses power) see the old content or the new, never a mix.
 *
 * If `write` throws, its error is rethrown unchanged, the temporary file is
 * removed and the target is left as it was. File-system failures of the
 * surrounding steps are thrown as {@link AtomicWriteError}.
 *
 * The handle must not be closed by `write`. The target, if it is a symbolic
 * link, is replaced by a regular file (the link is not followed).
 *
 * @returns what `write` returned.
 */
export async function withAtomicFile<T>(
  target: string,
  write: (handle: FileHandle) => Promise<T>,
  options: AtomicWriteOptions = {},
): Promise<T> {
  const file = await TempFile.create(target, options);
  let result: T;
  try {
    result = await write(file.handle);
  } catch (error) {
    await file.discard();
    throw error;
  }
  await file.commit();
  return result;
}
