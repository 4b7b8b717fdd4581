/**
 * The machine refused a file operation slmops was asked to do: the disk is
 * full, the file system read-only, a directory missing. These are not bugs;
 * the person running slmops can fix them, so they are shown as a message and
 * a hint, never a stack trace. Only the system error codes listed here count:
 * any other code (EBADF, EINVAL …) means slmops itself went wrong and stays an
 * internal error.
 */

/** What slmops was doing with the path. */
export type FileOperation = "write" | "create-directory";

export interface Advice {
  /** Why, in a few words. */
  readonly reason: string;
  /** What to do; `elsewhere` is "pass another --out" or "write somewhere else". */
  readonly hint: (elsewhere: string) => string;
}

const ADVICE: Readonly<Record<string, Advice>> = {
  ENOSPC: { reason: "no space left on the device", hint: (e) => `free disk space, or ${e} on another file system` },
  EDQUOT: { reason: "the disk quota is used up", hint: (e) => `free space within your quota, or ${e}` },
  EFBIG: { reason: "the file is larger than the file system allows", hint: (e) => `${e} on a file system that allows large files` },
  EROFS: { reason: "the file system is read-only", hint: (e) => `${e} on a writable file system` },
  EACCES: { reason: "permission denied", hint: (e) => `make the directory writable for this user, or ${e}` },
  EPERM: { reason: "operation not permitted", hint: (e) => `make the directory writable for this user, or ${e}` },
  ENOENT: { reason: "the directory does not exist", hint: (e) => `create it (mkdir -p), or ${e}` },
  ENOTDIR: { reason: "a part of the path is a file, not a directory", hint: (e) => `${e} whose parents are all directories` },
  EISDIR: { reason: "it is a directory", hint: () => "name a file, not a directory" },
  ENAMETOOLONG: { reason: "the path is too long", hint: (e) => `${e} with a shorter path` },
  ELOOP: { reason: "the path has too many levels of symbolic links", hint: (e) => `${e} without the link loop` },
  EMFILE: { reason: "this process has too many open files", hint: () => "raise the open-file limit (ulimit -n) and run again" },
  ENFILE: { reason: "the system has too many open files", hint: () => "close other programs, or raise the system's open-file limit, and run again" },
  EIO: { reason: "an input/output error: the disk or its connection failed", hint: (e) => `check the disk (dmesg), or ${e}` },
  EBUSY: { reason: "the path is busy (a mount point, or in use)", hint: (e) => `${e}` },
  ETXTBSY: { reason: "the file is a running program", hint: (e) => `${e}` },
};

/** Codes that mean something else when creating a directory. */
const DIRECTORY_ADVICE: Readonly<Record<string, Advice>> = {
  EEXIST: { reason: "it exists and is not a directory", hint: (e) => `${e}: a directory, or a path that does not exist yet` },
};

/** The system error code (`ENOSPC` …) an error carries, if any. */
export function systemErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** The reason and fix for a code met doing `operation`, or undefined for a code the environment does not cause. */
export function adviceFor(code: string | undefined, operation: FileOperation): Advice | undefined {
  if (code === undefined) return undefined;
  return (operation === "create-directory" ? DIRECTORY_ADVICE[code] : undefined) ?? ADVICE[code];
}

/** Whether a system error code is one the user's environment causes (as opposed to a bug). */
export function isEnvironmentCode(code: string | undefined, operation: FileOperation = "write"): boolean {
  return adviceFor(code, operation) !== undefined;
}

