/**
 * Creating output directories inside a root without following links out of
 * it. A checked-out repository can ship `.slmops` (or any directory below it)
 * as a symbolic link to anywhere on the runner; a plain `mkdir -p` followed by
 * writes would then land wherever the link points. Here every component from
 * the root down is looked at with `lstat` before it is used: a missing one is
 * created (one level at a time, so nothing is created through a link), a
 * directory is entered, and anything else — a link, a file, a FIFO — stops
 * the write with a clear error. Node has no `openat`, so a component swapped
 * for a link by a concurrent process between the check and the write is not
 * caught; the threat here is the tree's content, not a process racing us.
 */
import { lstat, mkdir } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { ConfigurationError, EnvironmentError } from "@slmops/diagnostics";

/** Why a path could not be used for output. */
export type UnsafeOutputReason = "outside-root" | "symlink" | "not-a-directory" | "not-ours";

/**
 * An output path that slmops refuses to write: it leaves the root, passes
 * through a link, or is something slmops did not create.
 */
export class UnsafeOutputError extends ConfigurationError {
  constructor(
    readonly path: string,
    readonly reason: UnsafeOutputReason,
    message: string,
  ) {
    super(message);
  }
}

/** `path` relative to `root`, or undefined when it is not inside it (or is the root). */
export function pathInside(root: string, path: string): string | undefined {
  const rel = relative(resolve(root), resolve(path));
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return rel;
}

/** How to name a path in a message: relative to the root where it is inside it. */
function shown(root: string, path: string): string {
  return pathInside(root, path) ?? path;
}

/**
 * Makes sure `dir` (the root itself, or a path inside it) exists as a real
 * directory reached from `root` through real directories only, creating what
 * is missing. The root must already exist; it is trusted as given (links
 * above or at the root are the user's own set-up). Returns the absolute path.
 */
export async function ensureDirectory(root: string, dir: string): Promise<string> {
  const base = resolve(root);
  const target = resolve(dir);
  const rootInfo = await lstat(base).catch(() => undefined);
  if (rootInfo === undefined) {
    throw new UnsafeOutputError(base, "not-a-directory", `the directory ${base} does not exist; create it or choose another output directory`);
  }
  if (target === base) return base;
  const rel = pathInside(base, target);
  if (rel === undefined) {
    throw new UnsafeOutputError(target, "outside-root", `${target} is outside ${base}; slmops writes only inside it — choose an output directory inside it`);
  }
  let current = base;
  for (const part of rel.split(sep)) {
    current = join(current, part);
    await enterOrCreate(base, current);
  }
  return target;
}

async function enterOrCreate(root: string, path: string): Promise<void> {
  let info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (info === undefined) {
    try {
      await mkdir(path);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw refused(error, path);
      info = await lstat(path);
    }
  }
  if (info.isSymbolicLink()) {
    throw new UnsafeOutputError(
      path,
      "symlink",
      `${shown(root, path)} is a symbolic link; slmops does not write through links in the tree (a checked-out repository can point them anywhere) — remove the link, or choose another output directory`,
    );
  }
  if (!info.isDirectory()) {
    // What mkdir -p would say (EEXIST), told as the environment problem it is; slmops never replaces it.
    throw new EnvironmentError({ operation: "create-directory", path, code: "EEXIST" });
  }
}

/**
 * The directory a file at `file` will be written in, made safe with
 * {@link ensureDirectory}; the file itself must not be a link or a
 * directory (a rename over a link replaces the link, but a user who points
 * an output at a link almost certainly meant the file it names).
 */
export async function ensureParentDirectory(root: string, file: string): Promise<string> {
  const target = resolve(file);
  if (pathInside(resolve(root), target) === undefined) {
    throw new UnsafeOutputError(target, "outside-root", `${target} is outside ${resolve(root)}; slmops writes only inside it — choose an output path inside it`);
  }
  await ensureDirectory(root, join(target, ".."));
  const info = await lstat(target).catch(() => undefined);
  if (info?.isSymbolicLink()) {
    throw new UnsafeOutputError(target, "symlink", `${shown(root, target)} is a symbolic link; slmops does not write through links — remove it, or choose another output path`);
  }
  if (info?.isDirectory()) {
    throw new UnsafeOutputError(target, "not-a-directory", `${shown(root, target)} is a directory; name a file to write`);
  }
  return target;
}

/**
 * Where slmops writes a directory the user may have named anywhere: inside
 * the repository `root` it is made with {@link ensureDirectory} (no link
 * followed from the root down); outside it — a path the user typed, such as
 * `--out /tmp/variants` — it is created as given. Returns the absolute path.
 */
export async function ensureOutputDirectory(root: string | undefined, dir: string): Promise<string> {
  if (root !== undefined && (resolve(root) === resolve(dir) || pathInside(root, dir) !== undefined)) return ensureDirectory(root, dir);
  await createAll(resolve(dir));
  return resolve(dir);
}

/** {@link ensureOutputDirectory} for the directory of a file about to be written; inside the root, the file must not be a link. */
export async function ensureOutputParent(root: string | undefined, file: string): Promise<string> {
  if (root !== undefined && pathInside(root, file) !== undefined) return ensureParentDirectory(root, file);
  await createAll(join(resolve(file), ".."));
  return resolve(file);
}

/**
 * `mkdir -p` of a path the user named. A recursive mkdir says ENOENT for
 * some refusals (a read-only file system); then one level at a time tells
 * the real reason.
 */
async function createAll(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    const real = (error as NodeJS.ErrnoException).code === "ENOENT" ? ((await createOneByOne(dir).catch((e: unknown) => e)) ?? error) : error;
    throw refused(real, dir);
  }
}

async function createOneByOne(dir: string): Promise<undefined> {
  const levels: string[] = [];
  for (let at = dir; ; at = join(at, "..")) {
    levels.unshift(at);
    if (join(at, "..") === at) break;
  }
  for (const level of levels) {
    try {
      await mkdir(level);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || !(await lstat(level).then((i) => i.isDirectory() || i.isSymbolicLink()))) throw error;
    }
  }
  return undefined;
}

/** A directory the machine would not create (read-only, full, a file in the way) is the user's to fix; anything else stays internal. */
function refused(error: unknown, path: string): unknown {
  return EnvironmentError.from(error, { operation: "create-directory", path }) ?? error;
}
