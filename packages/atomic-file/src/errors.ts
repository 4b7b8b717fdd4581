import { SlmopsError } from "@slmops/diagnostics";

/** What an atomic write was doing when the file system refused. */
export type AtomicWriteStep = "create" | "write" | "sync" | "close" | "rename" | "sync-directory";

/**
 * A file-system failure during an atomic write. The temporary file was
 * removed and the target left as it was, except when the last step
 * (`sync-directory`) failed: then the new content is in place but its rename
 * may not survive a power cut. The original error is the `cause`, and its
 * `code` (`ENOENT`, `ENOSPC`, `EACCES` …) is copied here.
 */
export class AtomicWriteError extends SlmopsError {
  /** The file that was to be written. */
  readonly path: string;
  /** The step that failed. */
  readonly step: AtomicWriteStep;
  /** The system error code of the cause, when it has one. */
  readonly code: string | undefined;

  constructor(path: string, step: AtomicWriteStep, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`could not write ${path} (${step} failed): ${reason}`, { cause });
    this.path = path;
    this.step = step;
    const code = (cause as { code?: unknown } | null)?.code;
    this.code = typeof code === "string" ? code : undefined;
  }
}

/** Runs one file-system step, turning its failure into an {@link AtomicWriteError}. */
export async function step<T>(path: string, name: AtomicWriteStep, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new AtomicWriteError(path, name, error);
  }
}
