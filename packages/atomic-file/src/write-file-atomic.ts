import { step } from "./errors.js";
import type { AtomicWriteOptions } from "./temp-file.js";
import { withAtomicFile } from "./with-atomic-file.js";

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions extends AtomicWriteOptions {
  /** Encoding of string data. Default `utf8`. */
  encoding?: BufferEncoding;
}

/**
 * Replaces `target` with `data` atomically: temporary file in the same
 * directory, write, fsync, rename, fsync the directory. The target holds the
 * old content or the new, whole, whatever happens meanwhile (another writer,
 * a crash, a power cut); no temporary file is left behind unless the process
 * itself dies (see {@link removeStaleTempFiles}).
 */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const bytes = typeof data === "string" ? Buffer.from(data, options.encoding ?? "utf8") : data;
  await withAtomicFile(target, (handle) => step(target, "write", () => handle.writeFile(bytes)), options);
}

/** Options of {@link writeJsonAtomic}. */
export interface WriteJsonAtomicOptions extends AtomicWriteOptions {
  /** Spaces of indentation; 0 writes one line. Default 2. */
  indent?: number;
}

/**
 * Writes `value` as JSON (with a final newline) to `target` atomically, as
 * {@link writeFileAtomic} does. A value JSON cannot represent (undefined, a
 * function, a BigInt, a cycle) throws before anything touches the disk.
 */
export async function writeJsonAtomic(target: string, value: unknown, options: WriteJsonAtomicOptions = {}): Promise<void> {
  const text = JSON.stringify(value, null, options.indent ?? 2) as string | undefined;
  if (text === undefined) throw new TypeError(`cannot write ${target}: the value has no JSON form`);
  await writeFileAtomic(target, `${text}\n`, options);
}
