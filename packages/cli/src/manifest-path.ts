import type { Stats } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";

/** The manifest file name looked for when a directory (or nothing) is given. */
export const MANIFEST_FILE_NAME = "slmops.yaml";

/** The manifest a command reads. */
export interface ManifestPath {
  readonly absolute: string;
  /** As the user should see it: relative to the working directory unless given absolute. */
  readonly display: string;
}

/**
 * What a command says when the manifest cannot be found, in its own words
 * (the manifest is a positional argument of one command, a `--manifest`
 * option of others).
 */
export interface ManifestPathWording {
  /**
   * Nothing was given and neither the working directory nor one above it
   * (up to the repository's top or the filesystem root) has a manifest.
   */
  noneInWorkingDirectory(cwd: string): string;
  /** The given path does not exist. */
  notFound(given: string): string;
  /** The path is a directory without a manifest; `display` is the manifest path looked for. */
  directoryWithoutManifest(given: string | undefined, display: string, cwd: string): string;
  /**
   * The path exists but is neither a directory nor a regular file (a FIFO, a
   * socket, a device). Without this, the refusal says what it is.
   */
  notAFile?(given: string | undefined, cwd: string): string;
}

/** The wording of a command that takes the manifest as `--manifest <path>`. */
export function manifestOptionWording(command: string): ManifestPathWording {
  return {
    noneInWorkingDirectory: (cwd) =>
      `No ${MANIFEST_FILE_NAME} in ${cwd} or a directory above it. Run slmops in the repository that holds it, or pass its path: slmops ${command} --manifest path/to/${MANIFEST_FILE_NAME}`,
    notFound: (given) => `${given}: no such file or directory. Check the --manifest path, or pass the directory that holds ${MANIFEST_FILE_NAME}.`,
    directoryWithoutManifest: (given) => `${given ?? "."}: the directory has no ${MANIFEST_FILE_NAME}. Pass the manifest's path with --manifest.`,
  };
}

/**
 * The `slmops.yaml` nearest to `cwd`, found as git finds its repository: in
 * `cwd`, else in each directory above it, stopping after the repository's
 * top (a directory holding `.git`) or at the filesystem root. Undefined when
 * there is none. Whatever is found is checked by the caller like a given path.
 */
export async function findManifestUpwards(cwd: string): Promise<string | undefined> {
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, MANIFEST_FILE_NAME);
    if (await stat(candidate).catch(() => undefined)) return candidate;
    if (await stat(join(dir, ".git")).catch(() => undefined)) return undefined;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The manifest a command should read: `given` (a file, or a directory holding
 * slmops.yaml) resolved against `cwd`, or, when nothing was given, the
 * nearest slmops.yaml in `cwd` or above it ({@link findManifestUpwards}). A
 * path that does not lead to a manifest is a `ConfigurationError` worded by
 * `wording`.
 */
export async function resolveManifestPath(given: string | undefined, cwd: string, wording: ManifestPathWording): Promise<ManifestPath> {
  const found = given === undefined ? await findManifestUpwards(cwd) : resolve(cwd, given);
  if (found === undefined) throw new ConfigurationError(wording.noneInWorkingDirectory(cwd));
  let absolute = found;
  const display = () => (given !== undefined && isAbsolute(given) ? absolute : relative(cwd, absolute).split(sep).join("/"));
  const info = await stat(absolute).catch(() => undefined);
  if (!info) {
    throw new ConfigurationError(given === undefined ? wording.noneInWorkingDirectory(cwd) : wording.notFound(given));
  }
  if (info.isDirectory()) {
    absolute = join(absolute, MANIFEST_FILE_NAME);
    const inside = await stat(absolute).catch(() => undefined);
    if (!inside || inside.isDirectory()) throw new ConfigurationError(wording.directoryWithoutManifest(given, display(), cwd));
    if (!inside.isFile()) throw notARegularFile(inside, given, display(), cwd, wording);
  } else if (!info.isFile()) {
    throw notARegularFile(info, given, display(), cwd, wording);
  }
  return { absolute, display: display() };
}

/**
 * A named pipe, socket or device where the manifest should be. It is refused
 * here, from its stat, because opening a FIFO to read it blocks until
 * something writes to it: `validate`, `optimize` and `bench` would hang.
 */
function notARegularFile(info: Stats, given: string | undefined, display: string, cwd: string, wording: ManifestPathWording): ConfigurationError {
  if (wording.notAFile) return new ConfigurationError(wording.notAFile(given, cwd));
  const kind = info.isFIFO() ? "a named pipe" : info.isSocket() ? "a socket" : "a device";
  return new ConfigurationError(`${display} is ${kind}, not a regular file; slmops reads the manifest only from a regular file. Replace it with ${MANIFEST_FILE_NAME} itself.`);
}
