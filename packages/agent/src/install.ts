/**
 * Installed versions and the `active` link. A version is installed into a
 * hidden directory, described by its `release.json`, flushed, and renamed
 * into place whole; the active model is switched by renaming a new link over
 * `active` and flushing the install directory, so at every instant `active`
 * names a complete version — the old one or the new one.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, readlink, rename, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { syncDirectory, writeJsonAtomic } from "@slmops/atomic-file";
import { readRegularFile } from "@slmops/contained-fs";
import { ConfigurationError } from "@slmops/diagnostics";
import { parseVersionDirName, RELEASE_RECORD, type AgentLayout } from "./layout.js";

/** What `release.json` in an installed version says. */
export interface ReleaseRecord {
  readonly model: string;
  readonly channel: string;
  readonly version: string;
  readonly variant: string;
  readonly deviceClass: string;
  /** The variant's identity digest. */
  readonly digest: string;
  readonly files: readonly { readonly name: string; readonly bytes: number; readonly sha256: string }[];
  /** The file the application loads (the model, beside its external data). */
  readonly modelFile: string;
  readonly installedAt: string;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

export async function readReleaseRecord(dir: string): Promise<ReleaseRecord | undefined> {
  try {
    const bytes = await readRegularFile(join(dir, RELEASE_RECORD), { maxBytes: 1024 * 1024, what: "release record", noFollow: true });
    const record = JSON.parse(bytes.toString("utf8")) as ReleaseRecord;
    return typeof record.version === "string" && typeof record.digest === "string" && typeof record.modelFile === "string" ? record : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Installs verified files as `versions/<name>`: each is moved (renamed, same
 * file system) from where the download left it into a fresh hidden
 * directory, the record written, the directory flushed and renamed into
 * place. An identical version already installed is kept as it is.
 */
export async function installVersion(layout: AgentLayout, name: string, files: readonly { readonly name: string; readonly path: string }[], record: ReleaseRecord): Promise<string> {
  const destination = join(layout.versions, name);
  await mkdir(layout.versions, { recursive: true });
  const existing = await readReleaseRecord(destination);
  if (existing?.digest === record.digest) return destination;
  if (await exists(destination)) await rm(destination, { recursive: true, force: true }); // an incomplete or other install under the same name
  const temp = join(layout.versions, `.${name}.installing-${randomBytes(4).toString("hex")}`);
  await mkdir(temp, { mode: 0o755 });
  for (const file of files) {
    if (file.name.includes("/") || file.name.startsWith(".") || file.name === RELEASE_RECORD) throw new ConfigurationError(`the release names a file ${JSON.stringify(file.name)} the agent will not install`);
    await rename(file.path, join(temp, file.name));
  }
  await writeJsonAtomic(join(temp, RELEASE_RECORD), record);
  await syncDirectory(temp);
  await rename(temp, destination);
  await syncDirectory(layout.versions);
  return destination;
}

/** The version directory `active` points at (its name under `versions/`), or undefined when none is active. */
export async function readActive(layout: AgentLayout): Promise<string | undefined> {
  const info = await lstat(layout.active).catch(() => undefined);
  if (!info) return undefined;
  if (!info.isSymbolicLink()) throw new ConfigurationError(`${layout.active} is not the agent's link; the agent will not replace it — move it away`);
  const target = await readlink(layout.active);
  const m = /^versions\/([^/]+)$/.exec(target);
  if (!m?.[1] || !parseVersionDirName(m[1])) throw new ConfigurationError(`${layout.active} points at ${JSON.stringify(target)}, not at an installed version; move it away`);
  return m[1];
}

/** Points `active` at `versions/<name>` with one rename, then flushes the install directory. */
export async function switchActive(layout: AgentLayout, name: string): Promise<void> {
  await readActive(layout); // refuses an `active` that is not ours
  const temp = join(layout.root, `.active.link-${randomBytes(4).toString("hex")}`);
  await symlink(`versions/${name}`, temp, "dir");
  try {
    await rename(temp, layout.active);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(layout.root);
}

/** Removes every version directory but `keep`, installs in progress and stray links. */
export async function pruneVersions(layout: AgentLayout, keep: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await readdir(layout.versions).catch(() => [] as string[])) {
    if (keep.has(entry)) continue;
    if (parseVersionDirName(entry) || /^\..+\.installing-[0-9a-f]{8}$/.test(entry)) {
      await rm(join(layout.versions, entry), { recursive: true, force: true });
      removed.push(entry);
    }
  }
  for (const entry of await readdir(layout.root).catch(() => [] as string[])) {
    if (/^\.active\.link-[0-9a-f]{8}$/.test(entry)) await rm(join(layout.root, entry), { force: true });
  }
  return removed;
}
