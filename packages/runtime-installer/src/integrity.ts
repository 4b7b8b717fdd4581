/**
 * The integrity record of a tool-cache install: the sha256 and size of every
 * file under its `node_modules`, written once after the install and checked
 * each time the install is used, so a damaged or tampered cache is never
 * loaded. Symbolic links are recorded by their target and must stay inside
 * the install.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, open, readdir, readlink } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { readJson } from "./json.js";
import type { RuntimeFlavor } from "./package.js";

/** The record's file name, beside `node_modules` in the install directory. */
export const INTEGRITY_FILE = "slmops-integrity.json";

/** `[path relative to node_modules, sha256 or "link:<target>", size]`. */
type Entry = readonly [string, string, number];

interface IntegrityRecord {
  readonly version: string;
  readonly flavor: RuntimeFlavor;
  /** Sorted by path. */
  readonly files: readonly Entry[];
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

const posix = (path: string) => path.split(sep).join("/");

/** Every file and link under `dir`, relative and `/`-separated, sorted; anything else is refused. */
async function listEntries(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(current: string): Promise<void> {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() || entry.isSymbolicLink()) out.push(posix(relative(dir, path)));
      else throw new Error(`${posix(relative(dir, path))} is neither a file, a directory nor a link`);
    }
  }
  await walk(dir);
  return out.sort();
}

/** What a path under `modules` is now: a file's sha256 and size, or a link's target (which must stay inside `modules`). */
async function entryOf(modules: string, path: string): Promise<[string, number]> {
  const full = join(modules, path);
  const info = await lstat(full);
  if (info.isSymbolicLink()) {
    const target = await readlink(full);
    const inside = relative(modules, resolve(dirname(full), target));
    if (inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
      throw new Error(`${path} links outside the install (${target})`);
    }
    return [`link:${target}`, 0];
  }
  return [await sha256File(full), info.size];
}

/** Records the sha256 of every file under `<dir>/node_modules`, written and synced to `<dir>/slmops-integrity.json`. */
export async function recordIntegrity(dir: string, version: string, flavor: RuntimeFlavor): Promise<void> {
  const modules = join(dir, "node_modules");
  const files: Entry[] = [];
  for (const path of await listEntries(modules)) files.push([path, ...(await entryOf(modules, path))]);
  const record: IntegrityRecord = { version, flavor, files };
  const handle = await open(join(dir, INTEGRITY_FILE), "w");
  try {
    await handle.writeFile(`${JSON.stringify(record)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isRecord(value: unknown): value is IntegrityRecord {
  const r = value as Partial<IntegrityRecord> | null;
  return (
    typeof r === "object" &&
    r !== null &&
    Array.isArray(r.files) &&
    r.files.every((e) => Array.isArray(e) && e.length === 3 && typeof e[0] === "string" && typeof e[1] === "string" && typeof e[2] === "number")
  );
}

/** Why the install in `dir` cannot be trusted, or undefined when every file is as recorded. */
export async function verifyIntegrity(dir: string, version: string, flavor: RuntimeFlavor): Promise<string | undefined> {
  let record: unknown;
  try {
    record = await readJson(join(dir, INTEGRITY_FILE));
  } catch (error) {
    return `its integrity record cannot be read (${(error as Error).message})`;
  }
  if (!isRecord(record)) return "its integrity record is malformed";
  if (record.version !== version || record.flavor !== flavor) return "its integrity record is for another install";
  const modules = join(dir, "node_modules");
  let present: string[];
  try {
    present = await listEntries(modules);
  } catch (error) {
    return `its files cannot be listed (${(error as Error).message})`;
  }
  const recorded = new Map(record.files.map(([path, sha, size]) => [path, { sha, size }]));
  const extra = present.find((p) => !recorded.has(p));
  if (extra !== undefined) return `${extra} was added after the install`;
  for (const [path, { sha, size }] of recorded) {
    let now: [string, number];
    try {
      now = await entryOf(modules, path);
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "ENOENT" ? `${path} is missing` : `${path} cannot be checked (${(error as Error).message})`;
    }
    if (now[1] !== size || now[0] !== sha) return `${path} was changed after the install`;
  }
  return undefined;
}
