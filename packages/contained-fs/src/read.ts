/**
 * Reading a file from a tree slmops does not trust. The path is opened
 * without blocking (a FIFO or a device never hangs the read), the opened
 * handle must be a regular file, its size is checked before anything is
 * read, and the read itself stops one byte past the limit, so neither a file
 * that lies about its size nor one that grows while it is read costs more
 * memory than the limit.
 */
import { constants } from "node:fs";
import { lstat, open, type FileHandle } from "node:fs/promises";
import { ConfigurationError } from "@slmops/diagnostics";
import { formatSize } from "@slmops/units";

/** Why a file could not be read. */
export type UnreadableReason = "missing" | "directory" | "not-a-file" | "symlink" | "too-large" | "permission" | "io";

/**
 * A file a user named (or a tree holds) that cannot be read as asked: a
 * user's or the environment's problem, shown as its message alone.
 */
export class UnreadableFileError extends ConfigurationError {
  constructor(
    readonly path: string,
    readonly reason: UnreadableReason,
    message: string,
    options: { cause?: unknown; readonly size?: number; readonly limit?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.size = options.size;
    this.limit = options.limit;
  }
  /** The file's size, for `too-large` (at least this many bytes). */
  readonly size: number | undefined;
  /** The limit it broke, for `too-large`. */
  readonly limit: number | undefined;
}

export interface ReadRegularFileOptions {
  /** The largest size accepted, in bytes. */
  readonly maxBytes: number;
  /** What the file is, for messages: `eval dataset`, `tokenizer`, `bench report` … */
  readonly what: string;
  /** Refuse a symbolic link as the last component (default: follow it). */
  readonly noFollow?: boolean;
}

/**
 * Opens `path` for reading as a regular file: never blocks on a FIFO or a
 * device, refuses anything that is not a regular file (after opening, on the
 * handle itself, so a swap between check and open is caught) and anything
 * larger than `maxBytes`. The caller closes the handle.
 */
export async function openRegularFile(path: string, options: ReadRegularFileOptions): Promise<{ handle: FileHandle; size: number }> {
  const { what } = options;
  if (options.noFollow) {
    const info = await lstat(path).catch(() => undefined);
    if (info?.isSymbolicLink()) {
      throw new UnreadableFileError(path, "symlink", `the ${what} ${path} is a symbolic link; slmops does not follow links here — replace it with the file itself`);
    }
  }
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (cause) {
    throw openError(path, what, cause);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new UnreadableFileError(path, "directory", `the ${what} ${path} is a directory; name a file`);
    if (!info.isFile()) {
      throw new UnreadableFileError(path, "not-a-file", `the ${what} ${path} is not a regular file (${kindOf(info)}); name a regular file`);
    }
    if (info.size > options.maxBytes) throw tooLarge(path, what, info.size, options.maxBytes);
    return { handle, size: info.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Reads a whole regular file of at most `maxBytes` bytes. Throws
 * {@link UnreadableFileError} (a ConfigurationError) naming the file and
 * what to do: missing, a directory, a FIFO or device, a link where
 * `noFollow` is set, larger than the limit, or unreadable.
 */
export async function readRegularFile(path: string, options: ReadRegularFileOptions): Promise<Buffer> {
  const { handle, size } = await openRegularFile(path, options);
  try {
    // One byte more than the limit (or the reported size, if smaller and the file is honest) to notice growth.
    const capacity = Math.min(options.maxBytes, size) + 1;
    let buffer = Buffer.allocUnsafe(capacity);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > options.maxBytes) break;
        const grown = Buffer.allocUnsafe(Math.min(options.maxBytes + 1, Math.max(buffer.length * 2, 64 * 1024)));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, length, buffer.length - length, length));
      } catch (cause) {
        throw new UnreadableFileError(path, "io", `the ${options.what} ${path} could not be read: ${(cause as Error).message}`, { cause });
      }
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > options.maxBytes) throw tooLarge(path, options.what, length, options.maxBytes);
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

function tooLarge(path: string, what: string, size: number, limit: number): UnreadableFileError {
  return new UnreadableFileError(
    path,
    "too-large",
    `the ${what} ${path} is ${formatSize(size)}, more than the ${formatSize(limit)} accepted; use a smaller file`,
    { size, limit },
  );
}

function openError(path: string, what: string, cause: unknown): UnreadableFileError {
  const code = (cause as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
      return new UnreadableFileError(path, "missing", `the ${what} ${path} does not exist; check the path`, { cause });
    case "ENOTDIR":
      return new UnreadableFileError(path, "missing", `the ${what} ${path} does not exist (a parent of it is not a directory); check the path`, { cause });
    case "EISDIR":
      return new UnreadableFileError(path, "directory", `the ${what} ${path} is a directory; name a file`, { cause });
    case "ELOOP":
      return new UnreadableFileError(path, "symlink", `the ${what} ${path} is a symbolic link; slmops does not follow links here — replace it with the file itself`, { cause });
    case "EACCES":
    case "EPERM":
      return new UnreadableFileError(path, "permission", `the ${what} ${path} cannot be read (permission denied); check its permissions`, { cause });
    default:
      return new UnreadableFileError(path, "io", `the ${what} ${path} could not be opened: ${(cause as Error).message}`, { cause });
  }
}

function kindOf(info: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (info.isFIFO()) return "a named pipe";
  if (info.isSocket()) return "a socket";
  if (info.isCharacterDevice() || info.isBlockDevice()) return "a device";
  return "not a file";
}
