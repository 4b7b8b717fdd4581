import { Writable } from "node:stream";
import { step } from "./errors.js";
import { TempFile, type AtomicWriteOptions } from "./temp-file.js";

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

  constructor(target: string, options: AtomicWriteOptions = {}) {
    super({ decodeStrings: true });
    this.target = target;
    this.options = options;
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
    file.commit().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const file = this.file;
    if (!file) {
      callback(error);
      return;
    }
    // After a successful commit, discard() does nothing.
    file.discard().then(() => callback(error));
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
  }
}

/** A new {@link AtomicWriteStream} onto `target`. */
export function createAtomicWriteStream(target: string, options: AtomicWriteOptions = {}): AtomicWriteStream {
  return new AtomicWriteStream(target, options);
}
