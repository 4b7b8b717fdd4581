import { EnvironmentError, SlmopsError, isEnvironmentCode, systemErrorCode } from "@slmops/diagnostics";

/** What an atomic write was doing when the file system refused. */
export type AtomicWriteStep = "create" | "write" | "sync" | "close" | "rename" | "sync-directory";

/**
 * The machine refused an atomic write (disk full, read-only file system, a
 * missing directory …): an {@link EnvironmentError}, told to the user as the
 * path, the reason and what to do. The temporary file was removed and the
 * target left as it was, except when the last step (`sync-directory`) failed:
 * then the new content is in place but its rename may not survive a power
 * cut. The original error is the `cause`.
 */
export class AtomicWriteError extends EnvironmentError {
  /** The step that failed. */
  readonly step: AtomicWriteStep;

  /** `cause` carries a code {@link isEnvironmentCode} accepts; see {@link atomicWriteError}. */
  constructor(path: string, step: AtomicWriteStep, cause: unknown) {
    super({ operation: "write", path, code: systemErrorCode(cause) ?? "UNKNOWN", cause });
    this.step = step;
  }
}

/**
 * The error a failed step of an atomic write is thrown as: an
 * {@link AtomicWriteError} when the environment refused, otherwise (a code
 * that means a bug, or no code) an internal error that keeps its cause.
 */
export function atomicWriteError(path: string, name: AtomicWriteStep, cause: unknown): SlmopsError {
  if (isEnvironmentCode(systemErrorCode(cause))) return new AtomicWriteError(path, name, cause);
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new SlmopsError(`could not write ${path} (${name} failed): ${reason}`, { cause });
}

/** Runs one file-system step, turning its failure into {@link atomicWriteError}. */
export async function step<T>(path: string, name: AtomicWriteStep, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw atomicWriteError(path, name, error);
  }
}
