/**
 * A built variant's identity: its files (the model and its external data),
 * each with its length and sha256, and one digest over that list. optimize
 * records it, bench reports it (`model-sha256`), the release signs it, and a
 * device verifies files on disk against it. The digest's framing is defined
 * in this package's README, with a worked example; {@link variantDigest} is
 * its one implementation.
 */
import { createHash } from "node:crypto";
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { openRegularFile } from "@slmops/contained-fs";
import { ConfigurationError } from "@slmops/diagnostics";

/** One file of a variant. */
export interface VariantFile {
  /** Path relative to the variant's directory, `/`-separated (the model file is its base name). */
  readonly name: string;
  /** Length in bytes. */
  readonly bytes: number;
  /** sha256 of the file's bytes, lowercase hex. */
  readonly sha256: string;
}

/** A variant's identity: its files, and the digest over them. */
export interface VariantFiles {
  /** The model file first, then its external data files. */
  readonly files: readonly VariantFile[];
  /** {@link variantDigest} of `files`, lowercase hex. */
  readonly digest: string;
}

/** The domain-separation tag that opens the digest's input (no terminator; its length is fixed). */
export const VARIANT_DIGEST_TAG = "slmops-variant-files-v1";

const HEX64 = /^[0-9a-f]{64}$/;
const MAX_NAME_BYTES = 4096;
const CHUNK = 1024 * 1024;

/**
 * Checks a file name as the identity allows it: a relative `/`-separated
 * path of at most 4096 UTF-8 bytes, no empty, `.` or `..` component, no
 * backslash, no NUL. Returns it unchanged.
 */
export function checkVariantFileName(name: string): string {
  const bad = (why: string) => new ConfigurationError(`variant file name ${JSON.stringify(name)} ${why}`);
  if (name.length === 0) throw bad("is empty");
  if (Buffer.byteLength(name, "utf8") > MAX_NAME_BYTES) throw bad(`is longer than ${MAX_NAME_BYTES} bytes`);
  if (name.includes("\0") || name.includes("\\")) throw bad("contains a NUL byte or a backslash");
  if (name.startsWith("/")) throw bad("is an absolute path");
  if (name.split("/").some((c) => c === "" || c === "." || c === "..")) throw bad("has an empty, `.` or `..` component");
  if (Buffer.from(name, "utf8").toString("utf8") !== name) throw bad("is not valid Unicode");
  return name;
}

function checkFiles(files: readonly VariantFile[]): void {
  if (files.length === 0) throw new ConfigurationError("a variant has at least one file (its model)");
  const seen = new Set<string>();
  for (const f of files) {
    checkVariantFileName(f.name);
    if (seen.has(f.name)) throw new ConfigurationError(`variant file ${JSON.stringify(f.name)} is listed twice`);
    seen.add(f.name);
    if (!Number.isSafeInteger(f.bytes) || f.bytes < 0) throw new ConfigurationError(`variant file ${JSON.stringify(f.name)} has an invalid length ${String(f.bytes)}`);
    if (!HEX64.test(f.sha256)) throw new ConfigurationError(`variant file ${JSON.stringify(f.name)} has an invalid sha256 ${JSON.stringify(f.sha256)} (64 lowercase hex digits)`);
  }
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * The digest over a variant's files: sha256 of
 *
 *     "slmops-variant-files-v1" ‖ u32be(count)
 *     ‖ for each file, in ascending byte order of its UTF-8 name:
 *         u32be(len(name)) ‖ name ‖ u64be(bytes) ‖ sha256 (32 raw bytes)
 *
 * as lowercase hex. The order the files are given in does not matter.
 * Refuses a list that is not a valid identity (no files, a bad name, a name
 * twice, a bad length or sha256).
 */
export function variantDigest(files: readonly VariantFile[]): string {
  checkFiles(files);
  const hash = createHash("sha256");
  hash.update(VARIANT_DIGEST_TAG, "ascii");
  const count = Buffer.alloc(4);
  count.writeUInt32BE(files.length);
  hash.update(count);
  for (const f of [...files].sort((a, b) => compareBytes(a.name, b.name))) {
    const name = Buffer.from(f.name, "utf8");
    const head = Buffer.alloc(4);
    head.writeUInt32BE(name.length);
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(f.bytes));
    hash.update(head).update(name).update(length).update(Buffer.from(f.sha256, "hex"));
  }
  return hash.digest("hex");
}

/** The identity of files already described: `files` as given, and their digest. */
export function variantFiles(files: readonly VariantFile[]): VariantFiles {
  return { files: files.map((f) => ({ name: f.name, bytes: f.bytes, sha256: f.sha256 })), digest: variantDigest(files) };
}

/** Bytes of every file of the variant. */
export function variantBytes(identity: VariantFiles): number {
  return identity.files.reduce((sum, f) => sum + f.bytes, 0);
}

/** Whether two identities are the same variant. */
export function sameVariant(a: VariantFiles, b: VariantFiles): boolean {
  return a.digest === b.digest;
}

/** Refuses a link (or a non-directory) at any directory between `dir` and the file `name`. `dir` itself may be a link. */
async function checkIntermediateDirectories(dir: string, name: string, what: string): Promise<void> {
  const parts = name.split("/");
  let path = dir;
  for (const part of parts.slice(0, -1)) {
    path = join(path, part);
    const info = await lstat(path).catch(() => undefined);
    if (info?.isSymbolicLink()) throw new ConfigurationError(`the ${what} ${join(dir, name)} is reached through a symbolic link (${path}); slmops does not follow links here`);
    if (info !== undefined && !info.isDirectory()) throw new ConfigurationError(`the ${what} ${join(dir, name)} does not exist (${path} is not a directory)`);
  }
}

/** A file's length and sha256, read once, in bounded memory. */
export interface HashedFile {
  /** Bytes actually read (the size it reported when opened, or the read stops one chunk past it). */
  readonly bytes: number;
  /** The size the file reported when it was opened. */
  readonly size: number;
  readonly sha256: string;
}

/**
 * Streams one file of a variant: a regular file, not a link (neither the
 * file nor a directory between `dir` and it), read once in 1 MiB chunks.
 * Throws `UnreadableFileError` (a ConfigurationError) for a file missing, a
 * link, a directory or a special file, or one larger than `options.maxBytes`
 * (refused before a byte is read), and a ConfigurationError for a file that
 * changed length while it was read.
 */
export async function hashVariantFile(dir: string, name: string, what = "variant file", options: { readonly maxBytes?: number } = {}): Promise<HashedFile> {
  checkVariantFileName(name);
  await checkIntermediateDirectories(dir, name, what);
  const path = join(dir, ...name.split("/"));
  const { handle, size } = await openRegularFile(path, { maxBytes: options.maxBytes ?? Number.MAX_SAFE_INTEGER, what, noFollow: true });
  try {
    const hash = createHash("sha256");
    // Two buffers: the next piece is read (on libuv's pool) while this one is hashed.
    const length = Math.min(CHUNK, Math.max(size + 1, 1));
    let current = Buffer.allocUnsafe(length);
    let spare = Buffer.allocUnsafe(length);
    let bytes = 0;
    let next: Promise<{ bytesRead: number }> | undefined = handle.read(current, 0, length, 0);
    try {
      for (;;) {
        const { bytesRead }: { bytesRead: number } = await next;
        next = undefined;
        if (bytesRead === 0) break;
        const piece = current.subarray(0, bytesRead);
        bytes += bytesRead;
        if (bytes > size) break; // grew while read: stop, it is refused below
        [current, spare] = [spare, current];
        next = handle.read(current, 0, length, bytes);
        hash.update(piece);
      }
    } finally {
      // A read still in flight (an error above) ends before the handle is closed.
      await next?.catch(() => undefined);
    }
    if (bytes !== size) throw new ConfigurationError(`the ${what} ${path} changed while it was read (${size} bytes when opened, ${bytes} read); read it again once nothing writes it`);
    return { bytes, size, sha256: hash.digest("hex") };
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    throw new ConfigurationError(`the ${what} ${path} could not be read: ${(error as Error).message}`, { cause: error });
  } finally {
    await handle.close();
  }
}

/**
 * Describes the variant in `dir` made of the files `names` (the model file
 * first, then its external data; relative, `/`-separated): reads each file
 * once through `@slmops/contained-fs`, following no link below `dir`.
 * `dir` itself may be a link (a published variant directory is one).
 */
export async function describeVariant(dir: string, names: readonly string[], options: { readonly what?: string } = {}): Promise<VariantFiles> {
  const files: VariantFile[] = [];
  for (const name of names) {
    const { bytes, sha256 } = await hashVariantFile(dir, name, options.what ?? "variant file");
    files.push({ name, bytes, sha256 });
  }
  return variantFiles(files);
}
