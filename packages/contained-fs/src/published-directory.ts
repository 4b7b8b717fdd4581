/**
 * A directory replaced whole by one atomic rename. `<parent>/<name>` is a
 * symbolic link to a build directory beside it, `.<name>.build-<id>`; a new
 * build is written into a fresh build directory, marked complete once every
 * file in it is on disk, and published by renaming a new link over the old
 * one. At every instant `<name>` points at a complete build (the old one or
 * the new one), so a reader, a crash or a power cut never sees a half-written
 * or missing directory.
 *
 *     parent/
 *       int4 -> .int4.build-0mf3k2x1c-9f2a   the published build
 *       .int4.build-0mf3k2x1c-9f2a/          complete: has `.complete`
 *       .int4.build-0mf3k4a7q-11bc/          a build in progress (or killed)
 *
 * A process killed part-way leaves build directories behind; the next
 * {@link startBuild} recovers: it publishes the newest complete build (a build
 * finished just before a kill is kept, not thrown away) and removes the rest.
 * `<name>` is only ever replaced when it is such a link: a file, a directory
 * or a link slmops did not make is refused. Builds of one `<parent>/<name>`
 * are not meant to run concurrently.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, open, readdir, readlink, rename, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { ensureDirectory, pathInside, UnsafeOutputError } from "./directories.js";

/** The file that marks a build directory complete; written last. */
export const COMPLETE_MARKER = ".complete";

const BUILD_ID = /^[0-9a-z]{9}-[0-9a-f]{8}$/;

function buildPrefix(name: string): string {
  return `.${name}.build-`;
}

/** A build in progress: write its files into `path`, then {@link publishBuild} or {@link discardBuild}. */
export interface Build {
  readonly root: string;
  readonly parent: string;
  readonly name: string;
  /** The build directory (absolute). */
  readonly path: string;
}

/** Ids sort by creation time (base-36 milliseconds, fixed width), then at random. */
function newBuildId(): string {
  return `${Date.now().toString(36).padStart(9, "0")}-${randomBytes(4).toString("hex")}`;
}

interface Published {
  /** The build directory's name the link points at, when the link is ours. */
  readonly target: string | undefined;
  /** Whether `<name>` exists at all. */
  readonly exists: boolean;
}

/**
 * What `<parent>/<name>` is: absent, or a link of ours to a build directory.
 * Anything else is refused, naming the path as the user would see it.
 */
async function readPublished(root: string, parent: string, name: string): Promise<Published> {
  const path = join(parent, name);
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (info === undefined) return { target: undefined, exists: false };
  const where = pathInside(root, path) ?? path;
  if (info.isSymbolicLink()) {
    const target = await readlink(path);
    if (target.startsWith(buildPrefix(name)) && BUILD_ID.test(target.slice(buildPrefix(name).length))) return { target, exists: true };
    throw new UnsafeOutputError(path, "not-ours", `${where} is a symbolic link slmops did not make (to ${JSON.stringify(target)}); remove it, or choose another output directory`);
  }
  throw new UnsafeOutputError(
    path,
    "not-ours",
    `${where} already exists as a ${info.isDirectory() ? "directory" : "file"} that slmops did not make; slmops will not replace it — move it away, or choose another output directory`,
  );
}

async function isComplete(dir: string): Promise<boolean> {
  const info = await lstat(join(dir, COMPLETE_MARKER)).catch(() => undefined);
  return info?.isFile() === true;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems cannot fsync a directory; the rename is still atomic there.
    if (!["EINVAL", "ENOTSUP", "EPERM", "EBADF"].includes((error as NodeJS.ErrnoException).code ?? "")) throw error;
  } finally {
    await handle.close();
  }
}

/** Points `<parent>/<name>` at `target` (a build directory's name) with one rename, then flushes the directory. */
async function pointAt(parent: string, name: string, target: string): Promise<void> {
  const temp = join(parent, `.${name}.link-${randomBytes(4).toString("hex")}`);
  await symlink(target, temp, "dir");
  try {
    await rename(temp, join(parent, name));
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(parent);
}

/**
 * Finishes what an interrupted run left: publishes the newest complete build
 * if the link does not already point at it, then removes every other build
 * directory and stray temporary link of `<name>`. Returns the published
 * build directory's name, if any.
 */
export async function recoverBuilds(root: string, parent: string, name: string): Promise<string | undefined> {
  const published = await readPublished(root, parent, name);
  const prefix = buildPrefix(name);
  const builds: string[] = [];
  const strays: string[] = [];
  for (const entry of await readdir(parent, { withFileTypes: true })) {
    if (entry.name.startsWith(prefix) && BUILD_ID.test(entry.name.slice(prefix.length)) && entry.isDirectory()) builds.push(entry.name);
    else if (entry.name.startsWith(`.${name}.link-`) && entry.isSymbolicLink()) strays.push(entry.name);
  }
  builds.sort();
  let newest: string | undefined;
  for (const build of builds) if (await isComplete(join(parent, build))) newest = build;
  const current = published.target !== undefined && builds.includes(published.target) && (await isComplete(join(parent, published.target))) ? published.target : undefined;
  const keep = newest ?? current;
  if (keep !== undefined && keep !== published.target) await pointAt(parent, name, keep);
  for (const build of builds) if (build !== keep) await rm(join(parent, build), { recursive: true, force: true });
  for (const stray of strays) await rm(join(parent, stray), { force: true });
  if (keep === undefined && published.exists) await rm(join(parent, name), { force: true }); // a link to nothing complete
  return keep;
}

/**
 * Starts a new build of `<parent>/<name>`: checks the path from `root` down
 * (no links, nothing slmops did not make), recovers what an earlier run left,
 * and creates an empty build directory (mode 0755).
 */
export async function startBuild(root: string, parent: string, name: string): Promise<Build> {
  if (name === "" || name.startsWith(".") || name.includes("/") || name.includes("\\")) {
    throw new UnsafeOutputError(join(parent, name), "not-ours", `\`${name}\` cannot be a directory name here`);
  }
  const dir = await ensureDirectory(root, parent);
  await recoverBuilds(root, dir, name);
  const path = join(dir, `${buildPrefix(name)}${newBuildId()}`);
  await mkdir(path, { mode: 0o755 });
  return { root, parent: dir, name, path };
}

/**
 * Marks the build complete (after flushing its directory), publishes it by
 * one rename of the link, and removes the builds it replaced.
 */
export async function publishBuild(build: Build): Promise<void> {
  await syncDirectory(build.path);
  const marker = await open(join(build.path, COMPLETE_MARKER), "wx", 0o644);
  try {
    await marker.writeFile(`${JSON.stringify({ name: build.name, completed: new Date().toISOString() })}\n`);
    await marker.sync();
  } finally {
    await marker.close();
  }
  await syncDirectory(build.path);
  // Refuse (again) if something not ours appeared at <name> while building.
  await readPublished(build.root, build.parent, build.name);
  await pointAt(build.parent, build.name, build.path.slice(build.parent.length + 1));
  await recoverBuilds(build.root, build.parent, build.name);
}

/** Removes an unfinished build. */
export async function discardBuild(build: Build): Promise<void> {
  await rm(build.path, { recursive: true, force: true });
}

/** The published build directory of `<parent>/<name>` (absolute), or undefined when none is published. */
export async function publishedBuild(root: string, parent: string, name: string): Promise<string | undefined> {
  const published = await readPublished(root, parent, name).catch(() => undefined);
  if (published?.target === undefined) return undefined;
  const dir = join(parent, published.target);
  return (await isComplete(dir)) ? dir : undefined;
}
