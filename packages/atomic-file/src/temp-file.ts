import { open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { atomicWriteError, step } from "./errors.js";
import { syncDirectory } from "./sync-directory.js";
import { tempPathFor } from "./temp-path.js";

/** Options shared by every atomic write. */
export interface AtomicWriteOptions {
  /**
   * Permission bits of the written file, e.g. `0o600`. Default: those of the
   * file being replaced, or for a new file `0o666` less the process umask.
   */
  mode?: number;
}

/**
 * How much a stream writes before it asks for what it wrote to be flushed
 * (`fdatasync`, not awaited before the next write), unless told otherwise:
 * the disk then writes back while the producer goes on, and the fsync before
 * the rename has little left to do. Copying a 100 MB file with one fsync at
 * the end took 1.6x as long as with one every 16 MiB (src/bench/atomic-write.bench.mjs).
 */
export const DEFAULT_SYNC_EVERY_BYTES = 16 * 1024 * 1024;

async function modeOfExisting(target: string): Promise<number | undefined> {
  try {
    const stats = await stat(target);
    return stats.isFile() ? stats.mode & 0o7777 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The temporary file of one atomic write: created beside the target, then
 * either committed (fsync, close, rename over the target, fsync the
 * directory) or discarded (closed and removed). Internal to this package.
 */
export class TempFile {
  private closed = false;
  private settled = false;

  private constructor(
    /** The file being written. */
    readonly target: string,
    /** Where the content goes until the rename. */
    readonly path: string,
    /** Open for writing, positioned at the start. */
    readonly handle: FileHandle,
  ) {}

  /** Creates a fresh temporary file beside `target` with the mode the final file must have. */
  static async create(target: string, options: AtomicWriteOptions = {}): Promise<TempFile> {
    const mode = options.mode ?? (await modeOfExisting(target));
    const tempPath = tempPathFor(target);
    const handle = await step(target, "create", () => open(tempPath, "wx", mode ?? 0o666));
    const file = new TempFile(target, tempPath, handle);
    if (mode !== undefined) {
      // open() applies the umask; an explicit or preserved mode must not be narrowed by it.
      try {
        await handle.chmod(mode);
      } catch (error) {
        await file.discard();
        throw atomicWriteError(target, "create", error);
      }
    }
    return file;
  }

  /** Makes the written content durable and puts it in place of the target. */
  async commit(): Promise<void> {
    if (this.settled) throw new Error(`the temporary file of ${this.target} was already settled`);
    try {
      await step(this.target, "sync", () => this.handle.sync());
      this.closed = true;
      await step(this.target, "close", () => this.handle.close());
      await step(this.target, "rename", () => rename(this.path, this.target));
      this.settled = true;
    } catch (error) {
      await this.discard();
      throw error;
    }
    await step(this.target, "sync-directory", () => syncDirectory(path.dirname(this.target)));
  }

  /** Closes and removes the temporary file; the target is untouched. Never throws. */
  async discard(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => undefined);
    }
    await rm(this.path, { force: true }).catch(() => undefined);
  }
}
