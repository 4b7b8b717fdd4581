import type { Stats } from "node:fs";
import { lstat, readdir, realpath, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, posix, relative, resolve, sep, win32 } from "node:path";
import { error, type Problem } from "./problem.js";
import { closest } from "./suggest.js";

/** What a manifest path must be checked for. */
export interface PathCheck {
  /** JSON pointer of the path value. */
  readonly pointer: string;
  /** The path as written. */
  readonly written: string;
  /** What it names, for messages: "source model", "eval dataset". */
  readonly what: string;
  /** Whose it is, for messages: "model `story-lm`". */
  readonly owner: string;
}

/**
 * Checks, without touching the file system, that a written path is relative,
 * uses `/`, and does not climb out of the root. Returns the normalized
 * relative path, or a problem.
 */
export function checkPathText(check: PathCheck): { ok: true; normalized: string } | { ok: false; problem: Problem } {
  const { pointer, written, what, owner } = check;
  const fail = (message: string, hint?: string) => ({ ok: false as const, problem: error("path/invalid", pointer, message, hint) });
  if (written.includes("\u0000")) return fail(`the ${what} path of ${owner} contains a NUL character`);
  if (posix.isAbsolute(written) || win32.isAbsolute(written) || /^[A-Za-z]:/u.test(written)) {
    return { ok: false, problem: error("path/absolute", pointer, `the ${what} path of ${owner} is absolute (\`${written}\`); paths must be relative to the repository root`, "write it relative to the repository root, e.g. `models/story-lm/model.onnx`") };
  }
  if (written.includes("\\")) return fail(`the ${what} path of ${owner} uses \`\\\`; write paths with \`/\``, `write \`${written.replace(/\\/gu, "/")}\``);
  const normalized = posix.normalize(written);
  if (normalized === ".." || normalized.startsWith("../")) {
    return { ok: false, problem: error("path/outside-root", pointer, `the ${what} path of ${owner} leaves the repository (\`${written}\`)`, "keep every file inside the repository; `..` may not climb above its root") };
  }
  if (normalized === "." || normalized.endsWith("/")) return fail(`the ${what} path of ${owner} names a directory (\`${written}\`), not a file`);
  return { ok: true, normalized };
}

/**
 * Checks on disk that the path exists, is a regular file (through any
 * symbolic links) and that its real path stays inside the root's real path.
 */
export async function checkPathOnDisk(check: PathCheck, normalized: string, root: string, realRoot: string): Promise<Problem | undefined> {
  const { pointer, written, what, owner } = check;
  const absolute = resolve(root, normalized);
  try {
    await lstat(absolute);
  } catch {
    const hint = await suggestSibling(absolute, root);
    return error("path/missing", pointer, `the ${what} \`${written}\` of ${owner} does not exist`, hint ?? `paths are relative to the repository root, here \`${root.split(sep).join("/")}\``);
  }
  let real: string;
  try {
    real = await realpath(absolute);
  } catch {
    return error("path/broken-link", pointer, `the ${what} \`${written}\` of ${owner} is a symbolic link to nothing`, "point the link at a file inside the repository, or replace it with the file");
  }
  if (real !== realRoot && !real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) {
    return error("path/outside-root", pointer, `the ${what} \`${written}\` of ${owner} leads outside the repository through a symbolic link`, "keep every file inside the repository; replace the link with the file itself");
  }
  // stat, never open: a FIFO here would block a read forever, so it is refused before anything reads it.
  const info = await stat(real);
  if (!info.isFile()) return error("path/not-a-file", pointer, `the ${what} \`${written}\` of ${owner} is ${notAFile(info)}`, "name a file");
  return undefined;
}

function notAFile(info: Stats): string {
  if (info.isDirectory()) return "a directory";
  if (info.isFIFO()) return "a named pipe, not a regular file";
  if (info.isSocket()) return "a socket, not a regular file";
  if (info.isCharacterDevice() || info.isBlockDevice()) return "a device, not a regular file";
  return "not a regular file";
}

async function suggestSibling(absolute: string, root: string): Promise<string | undefined> {
  try {
    const parent = dirname(absolute);
    if (!isAbsolute(parent)) return undefined;
    const names = await readdir(parent);
    const name = absolute.slice(parent.length + 1);
    const match = closest(name, names);
    if (match) return `did you mean \`${relativeForHumans(root, join(parent, match))}\`?`;
  } catch {
    // The directory does not exist either; the plain message says enough.
  }
  return undefined;
}

function relativeForHumans(root: string, absolute: string): string {
  return relative(root, absolute).split(sep).join("/");
}
