import { Writable } from "node:stream";
import { step } from "./errors.js";
import { DEFAULT_SYNC_EVERY_BYTES, TempFile, type AtomicWriteOptions } from "./temp-file.js";

export interface AtomicWriteStreamOptions extends AtomicWriteOptions {
  /**
   * Flush what was written each time this many bytes have been written since
   * the last flush, overlapped with the writes that follow; default
   * {@link DEFAULT_SYNC_EVERY_BYTES}, 0 for one fsync at the end only. The
   * fsync before the rename is made either way.
   */
  syncEveryBytes?: number;
}

/**
 * A writable stream onto a temporary file that replaces its target only when
 * the stream ends successfully: `finish` is emitted after the content is on
 * disk and renamed into place. If the stream is destroyed first — by an error,
 * by `pipeline` when the source fails, or by `destroy()` to give up — the
 * temporary file is removed and the target is left as it was.
 */
export class AtomicWriteStream extends Writable {
  /** The file this stream replaces when it finishes. */
  readonly target: string;
  private file: TempFile | undefined;
  private readonly options: AtomicWriteOptions;
  private readonly syncEvery: number;
  private unsynced = 0;
  /** The flush in flight, if any (settled to an error, not rejected, so none goes unhandled). */
  private flushing: Promise<unknown> | undefined;

  constructor(target: string, options: AtomicWriteStreamOptions = {}) {
    super({ decodeStrings: true });
    this.target = target;
    const { syncEveryBytes, ...rest } = options;
    this.options = rest;
    this.syncEvery = syncEveryBytes ?? DEFAULT_SYNC_EVERY_BYTES;
    if (!(Number.isSafeInteger(this.syncEvery) && this.syncEvery >= 0)) throw new RangeError(`syncEveryBytes must be a whole number of bytes, got ${String(syncEveryBytes)}`);
  }

  /** Path of the temporary file, once it exists. */
  get tempPath(): string | undefined {
    return this.file?.path;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    TempFile.create(this.target, this.options).then(
      (file) => {
        this.file = file;
        callback();
      },
      (error: Error) => callback(error),
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeAll(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const file = this.file;
    if (!file) {
      callback(new Error(`the temporary file of ${this.target} is missing`));
      return;
    }
    this.settleFlush()
      .then(() => file.commit())
      .then(() => callback(), callback);
  }

  /** Waits for the flush in flight; its failure is the write's. */
  private async settleFlush(): Promise<void> {
    const result = await this.flushing;
    this.flushing = undefined;
    if (result instanceof Error) throw result;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const file = this.file;
    if (!file) {
      callback(error);
      return;
    }
    // After a successful commit, discard() does nothing; a flush in flight ends first.
    Promise.resolve(this.flushing)
      .then(() => file.discard())
      .then(() => callback(error));
  }

  private async writeAll(chunk: Buffer): Promise<void> {
    const file = this.file;
    if (!file) throw new Error(`the temporary file of ${this.target} is missing`);
    let offset = 0;
    while (offset < chunk.length) {
      const { bytesWritten } = await step(this.target, "write", () =>
        file.handle.write(chunk, offset, chunk.length - offset, null),
      );
      offset += bytesWritten;
    }
    this.unsynced += chunk.length;
    if (this.syncEvery > 0 && this.unsynced >= this.syncEvery) {
      // One flush at a time: the next waits for this one, so a slow disk slows the writer instead of queueing flushes.
      await this.settleFlush();
      this.unsynced = 0;
      this.flushing = step(this.target, "sync", () => file.handle.datasync()).then(
        () => undefined,
        (error: unknown) => error,
      );
    }
  }
}

/** A new {@link AtomicWriteStream} onto `target`. */
export function createAtomicWriteStream(target: string, options: AtomicWriteStreamOptions = {}): AtomicWriteStream {
  return new AtomicWriteStream(target, options);
}
