/**
 * A release repository checked end to end as a device sees it: tuf-js's
 * `Updater` walks the metadata from a trusted root (root rotations,
 * timestamp, snapshot, targets, the delegated rollout role), and every
 * target of the channel is checked against its signed length and hashes.
 * This is what `slmops release verify` runs; none of it is the code that
 * wrote the repository.
 *
 * A repository on an http(s) URL is read as a device reads it: metadata
 * through tuf-js's fetcher, the bytes through {@link downloadFile}. A
 * repository in a directory on this machine is read in place, as a static
 * host would serve it — regular files below the directory only, no link
 * followed, none read past its signed length — so nothing is copied and
 * each byte is read once.
 */
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openRegularFile, pathInside, readRegularFile, UnreadableFileError } from "@slmops/contained-fs";
import { ConfigurationError, terminalText } from "@slmops/diagnostics";
import { hashVariantFile } from "@slmops/variant-identity";
import { Updater, type Fetcher } from "tuf-js";
import { DownloadHTTPError } from "tuf-js/dist/error.js";
import { downloadFile } from "./download.js";
import { repositoryUnreachable } from "./repository-errors.js";
import { hashPrefixedName } from "./target-name.js";

export interface RepositoryCheckOptions {
  /** The repository: an http(s) URL, or a directory on this machine. */
  readonly repository: string;
  /** The trust anchor a device is installed with (a `1.root.json`'s bytes). */
  readonly root: Uint8Array;
  /** Only the targets of this channel (and its rollout states); default every target. */
  readonly channel?: string;
  /** Longest one metadata request may take (http(s) only); default 30 s. */
  readonly timeoutMs?: number;
}

export interface RepositoryCheck {
  /** The target paths checked, sorted. */
  readonly targets: readonly string[];
}

/** The repository does not verify from the root it was given. Names what failed. */
export class RepositoryCheckError extends ConfigurationError {}

function reason(error: unknown): string {
  return terminalText(error instanceof Error ? error.message : String(error));
}

/**
 * tuf-js's fetcher over a directory: `local:/metadata/2.root.json` is the
 * regular file `<dir>/metadata/2.root.json`, read up to tuf-js's length
 * limit; a missing file is a 404, as a static host answers.
 */
class DirectoryFetcher implements Fetcher {
  constructor(private readonly dir: string) {}

  /** The file a `local:` URL names, or undefined for one outside the directory. */
  path(url: string): string | undefined {
    const { pathname } = new URL(url);
    const file = resolve(this.dir, `.${decodeURIComponent(pathname)}`);
    return pathInside(this.dir, file) === undefined ? undefined : file;
  }

  async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    const file = this.path(url);
    if (file === undefined) throw new DownloadHTTPError(`${url} is outside the repository`, 404);
    try {
      return await readRegularFile(file, { maxBytes: maxLength, what: "metadata file", noFollow: true });
    } catch (error) {
      if (error instanceof UnreadableFileError && error.reason === "missing") throw new DownloadHTTPError(`${url} not found`, 404);
      throw error;
    }
  }

  async downloadFile<T>(url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    const scratch = await mkdtemp(join(tmpdir(), "slmops-fetch-"));
    try {
      const file = join(scratch, "download");
      await writeFile(file, await this.downloadBytes(url, maxLength));
      return await handler(file);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
}

/** What a role's metadata lists: its targets, and the roles it delegates to. */
interface RoleMetadata {
  readonly targets?: Record<string, unknown>;
  readonly delegations?: { readonly roles?: readonly { readonly name: string; readonly paths?: readonly string[] }[] };
}


/**
 * A stored target against its signed length and sha256: a regular file
 * reached through directories only (no link followed below the repository),
 * refused before a byte is read when longer than signed, hashed in one pass.
 */
async function checkStored(dir: string, stored: string, length: number, sha256: string): Promise<void> {
  const hashed = await hashVariantFile(dir, `targets/${stored}`, "target file", { maxBytes: length });
  if (hashed.bytes !== length) throw new Error(`the stored file ${terminalText(stored)} has ${hashed.bytes} bytes, the signed length is ${length}`);
  if (hashed.sha256 !== sha256) throw new Error(`the stored file ${terminalText(stored)} is not the signed file: its sha256 is ${hashed.sha256}, the signed one ${sha256}`);
}

/**
 * Checks the repository from `options.root`, and every target of the
 * channel. Resolves with the targets checked; throws a
 * {@link RepositoryCheckError} naming the first thing that does not verify.
 */
export async function checkRepository(options: RepositoryCheckOptions): Promise<RepositoryCheck> {
  const isUrl = /^https?:\/\//i.test(options.repository);
  const dir = isUrl ? undefined : resolve(options.repository);
  const fetcher = dir === undefined ? undefined : new DirectoryFetcher(dir);
  const base = dir === undefined ? options.repository.replace(/\/+$/, "") : "local:";
  const scratch = await mkdtemp(join(tmpdir(), "slmops-verify-"));
  try {
    const metadataDir = join(scratch, "metadata");
    await mkdir(metadataDir);
    await writeFile(join(metadataDir, "root.json"), options.root);
    let updater: Updater;
    try {
      // The constructor reads the root: what is not TUF root metadata is refused here.
      updater = new Updater({
        metadataDir,
        metadataBaseUrl: `${base}/metadata`,
        targetBaseUrl: `${base}/targets`,
        ...(fetcher ? { fetcher } : {}),
        config: { fetchRetries: 0, fetchTimeout: options.timeoutMs ?? 30_000 },
      });
    } catch (error) {
      throw new RepositoryCheckError(`the given root is not TUF root metadata (${reason(error)}); give the repository's metadata/1.root.json, or the root a device was installed with`, { cause: error });
    }
    try {
      await updater.refresh();
    } catch (error) {
      const unreachable = isUrl ? repositoryUnreachable(error, options.repository) : undefined;
      throw new RepositoryCheckError(unreachable ?? `the release repository does not verify from the given root: ${reason(error)}`, { cause: error });
    }
    // The client keeps the metadata it verified: its targets list what there is to check. A delegated
    // role is fetched only for a path it is trusted for, so each is walked with a path its patterns match.
    const channel = options.channel;
    const paths: string[] = [];
    const roles = ["targets"];
    for (let i = 0; i < roles.length; i++) {
      const text = await readFile(join(metadataDir, `${encodeURIComponent(roles[i] as string)}.json`), "utf8").catch(() => undefined);
      if (text === undefined) continue;
      const signed = (JSON.parse(text) as { signed: RoleMetadata }).signed;
      paths.push(...Object.keys(signed.targets ?? {}));
      for (const role of signed.delegations?.roles ?? []) {
        if (roles.includes(role.name)) continue;
        roles.push(role.name);
        for (const pattern of role.paths ?? []) {
          try {
            await updater.getTargetInfo(pattern.replace(/[*?]/g, "_"));
          } catch (error) {
            throw new RepositoryCheckError(`the delegated role ${terminalText(role.name)} does not verify: ${reason(error)}`, { cause: error });
          }
        }
      }
    }
    paths.splice(0, paths.length, ...paths.filter((p) => channel === undefined || p.startsWith(`${channel}/`) || p.startsWith(`rollout/${channel}/`)).sort());
    const root = JSON.parse(await readFile(join(metadataDir, "root.json"), "utf8")) as { signed: { consistent_snapshot?: unknown } };
    const consistent = root.signed.consistent_snapshot === true;
    const targetDir = join(scratch, "targets");
    await mkdir(targetDir);
    for (const [index, path] of paths.entries()) {
      try {
        const info = await updater.getTargetInfo(path);
        if (!info) throw new Error("not trusted");
        const sha256 = info.hashes["sha256"];
        if (sha256 === undefined) throw new Error("its signed target info has no sha256, which a device requires");
        const stored = consistent ? hashPrefixedName(info.path, sha256) : info.path;
        if (fetcher && dir !== undefined) {
          const file = fetcher.path(`local:/targets/${stored}`);
          if (file === undefined) throw new Error("its stored name leaves the repository");
          await checkStored(dir, stored, info.length, sha256);
          // Any other hash it is signed with is checked too, as tuf-js checks every one.
          if (Object.keys(info.hashes).some((name) => name !== "sha256")) {
            const { handle } = await openRegularFile(file, { maxBytes: info.length, what: "target file", noFollow: true });
            try {
              await info.verify(handle.createReadStream({ autoClose: false }));
            } finally {
              await handle.close();
            }
          }
        } else {
          const file = join(targetDir, String(index));
          // The bytes as a device fetches them: against the signed length and sha256, hashed while streaming.
          await downloadFile(`${base}/targets/${stored}`, file, { length: info.length, sha256 }, { freeSpaceMarginBytes: 0 });
          // Any other hash it is signed with is checked too, as tuf-js checks every one.
          if (Object.keys(info.hashes).some((name) => name !== "sha256")) await info.verify(createReadStream(file));
          await rm(file, { force: true });
        }
      } catch (error) {
        throw new RepositoryCheckError(`target ${terminalText(path)} does not verify: ${reason(error)}`, { cause: error });
      }
    }
    if (paths.length === 0) throw new RepositoryCheckError(`the repository verifies but holds no target${channel === undefined ? "" : ` on channel ${channel}`}`);
    return { targets: paths };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
