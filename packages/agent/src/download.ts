/**
 * The download of a release's model files, beside tuf-js (which fetches only
 * the metadata). A file is fetched from a static host into a partial file
 * next to its destination, resumed with HTTP `Range` after an interruption,
 * hashed as it streams, checked against the signed length and sha256, and
 * only then flushed and renamed into place: after a crash or power cut the
 * destination is either absent or the complete verified file.
 *
 * The server is not trusted: it may ignore `Range`, answer a range that
 * starts elsewhere, send more than the signed length, stall mid-body or close
 * early. Each of these either restarts cleanly or fails with a
 * {@link DownloadError} that says whether trying again can help.
 */
import { createHash, type Hash } from "node:crypto";
import { constants } from "node:fs";
import { open, rename, rm, statfs as nodeStatfs, type FileHandle } from "node:fs/promises";
import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import { dirname } from "node:path";
import { syncDirectory } from "@slmops/atomic-file";
import { ConfigurationError, systemErrorCode } from "@slmops/diagnostics";
import {
  Aborted,
  bodyError,
  DownloadError,
  fileSystemError,
  InsufficientSpaceError,
  protocolError,
  ReadTimeout,
  redactUrl,
  requestError,
  statusError,
  throwIfAborted,
  tooLong,
  truncated,
  type FailureContext,
} from "./download-errors.js";

export { DownloadError, InsufficientSpaceError, redactUrl, type DownloadErrorInit, type DownloadFailure } from "./download-errors.js";

/** The per-read timeout when none is given: the longest wait for the next bytes. */
export const DEFAULT_READ_TIMEOUT_MS = 30_000;

/** Free space kept beyond the bytes still to download, when no margin is given. */
export const DEFAULT_FREE_SPACE_MARGIN_BYTES = 64 * 1024 * 1024;

/** Redirects followed per request (a CDN in front of object storage). */
export const MAX_REDIRECTS = 5;

/** Requests per download (range continuations and one restart); past it the server is misbehaving. */
const MAX_REQUESTS = 32;

/** Bytes written between two flushes that run beside the download. */
const FLUSH_BEHIND_BYTES = 8 * 1024 * 1024;

/**
 * The most bytes of the body that collect while a write is in flight; past
 * it, the body waits for the disk. The bytes that came during a write are
 * written together, in one `writev`, as soon as it finished, while the body
 * keeps streaming. (Writing each piece of the body as it came, 64 KiB from a
 * socket, and waiting for it before reading the next took about 1.3× as
 * long over loopback: bench/download.bench.mjs, bench/update.bench.mjs.)
 */
const WRITE_BATCH_BYTES = 1024 * 1024;

/** Chunk size for hashing an existing partial file. */
const HASH_CHUNK_BYTES = 1024 * 1024;

/** Progress is reported at most once per this many bytes (and at the start and end). */
const PROGRESS_STEP_BYTES = 1024 * 1024;

/** The signed length and sha256 (lowercase hex) of the file. */
export interface ExpectedFile {
  readonly length: number;
  readonly sha256: string;
}

/** Bytes of the file on disk so far, out of its signed length. */
export interface DownloadProgress {
  readonly bytes: number;
  readonly total: number;
}

/** What `fs.statfs` tells about free space; the fields {@link downloadFile} reads. */
export interface FreeSpace {
  /** Blocks available to this (unprivileged) user. */
  readonly bavail: number | bigint;
  /** Block size in bytes. */
  readonly bsize: number | bigint;
}

export interface DownloadOptions {
  /**
   * The longest wait, in milliseconds, for the server's answer and then for
   * each next piece of the body (default {@link DEFAULT_READ_TIMEOUT_MS}). It
   * bounds a stall, not the download: a slow but steady server is fine.
   */
  readonly readTimeoutMs?: number;
  /** Stops the download; the partial file is kept for a later resume. */
  readonly signal?: AbortSignal;
  /**
   * Called with the bytes on disk: at the start (what a resume begins from),
   * about every MiB, and at the end. Bytes go back to 0 when the server makes
   * the download restart. It must not throw (what it throws fails the download).
   */
  readonly onProgress?: (progress: DownloadProgress) => void;
  /** Free space required beyond the bytes still to download (default {@link DEFAULT_FREE_SPACE_MARGIN_BYTES}). */
  readonly freeSpaceMarginBytes?: number;
  /** How free space is read (default `fs.promises.statfs`); for tests, or a platform without it. */
  readonly statfs?: (directory: string) => Promise<FreeSpace>;
}

/** What a finished download did. */
export interface DownloadResult {
  /** The destination, now the complete verified file. */
  readonly path: string;
  readonly bytes: number;
  /** Bytes taken from an earlier attempt's partial file (0 for a fresh download). */
  readonly resumedFrom: number;
  /** HTTP requests made (redirect hops not counted); 0 when the partial file was already complete. */
  readonly requests: number;
}

/** Where the bytes of `destination` collect until they are verified. */
export function partialPathOf(destination: string): string {
  return `${destination}.partial`;
}

/**
 * Downloads `url` to `destination` and verifies it against `expected`.
 *
 * Bytes go to {@link partialPathOf}(destination). An existing partial file is
 * hashed (in 1 MiB reads) and resumed with `Range: bytes=<size>-`; a 206 is
 * appended only when its `Content-Range` starts exactly at that size (and
 * its total, when given, is the signed length); a 200 restarts from zero; a
 * range elsewhere or a 416 restarts from zero with a fresh request. A partial
 * file that already has the signed length is verified without a request.
 *
 * Before anything is fetched, free space in the destination's directory must
 * cover the bytes still needed plus a margin. The body is streamed to disk,
 * hashed on the way, and cut off at the signed length. The complete file's
 * length and sha256 must match; then it is fsynced, renamed over
 * `destination` and the directory fsynced. A mismatch deletes the partial
 * file, so that the next attempt starts over.
 *
 * @throws {DownloadError} on every failure of the network, the server, the
 * disk or the verification; `retryable` tells which may pass by themselves.
 * @throws {ConfigurationError} for a URL that is not http(s) or an `expected`
 * that is not a length and a sha256.
 */
export async function downloadFile(url: string, destination: string, expected: ExpectedFile, options: DownloadOptions = {}): Promise<DownloadResult> {
  const transfer = await startTransfer(url, destination, expected, options);
  try {
    const resumedFrom = await resumePartial(transfer);
    const remaining = expected.length - transfer.offset;
    if (remaining > 0) {
      await ensureFreeSpace(transfer, remaining);
      await fetchRest(transfer);
    }
    await verifyDigest(transfer);
    await commitFile(transfer);
    return { path: destination, bytes: expected.length, resumedFrom, requests: transfer.requests };
  } finally {
    await transfer.file.close().catch(() => undefined);
  }
}

/** One download in progress: the partial file, its hash so far and where it ends. */
interface Transfer extends FailureContext {
  readonly destination: string;
  readonly directory: string;
  readonly expected: ExpectedFile;
  readonly margin: number;
  readonly statfs: (directory: string) => Promise<FreeSpace>;
  readonly progress: Progress;
  readonly file: FileHandle;
  /** The sha256 of the bytes [0, offset). */
  hash: Hash;
  /**
   * Bytes received and hashed: those in the partial file, then those being
   * written or waiting in {@link Transfer.batch}; the next byte expected
   * from the server. The partial file has exactly these bytes whenever no
   * body is streaming (see {@link drainWrites}).
   */
  offset: number;
  /** Bytes [0, written) are in the partial file. */
  written: number;
  /** Received bytes [written + bytes of the write in flight, offset), in order, not yet handed to a write. */
  batch: Buffer[];
  batchBytes: number;
  /** The write in flight (or finished, not yet settled), if any, and how many bytes it writes at `written`. */
  writing: { readonly done: Promise<void>; readonly bytes: number; finished: boolean } | undefined;
  /** Set once a write failed or the partial file was discarded: nothing more is written (what is on disk is re-read by a resume). */
  writesStopped: boolean;
  /** Whether the bytes from 0 came (partly) from an earlier attempt. */
  fromEarlier: boolean;
  requests: number;
  /** The most bytes still to download that free space was found sufficient for. */
  spaceCheckedFor: number;
  /** Flushing of what was written so far, running beside the download; see {@link flushBehind}. */
  flushing: Promise<void> | undefined;
  /** Bytes written since the last flush started. */
  unflushed: number;
}

async function startTransfer(url: string, destination: string, expected: ExpectedFile, options: DownloadOptions): Promise<Transfer> {
  const parsed = parseUrl(url);
  const checked = checkExpected(expected);
  const readTimeoutMs = positiveNumber(options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS, "readTimeoutMs");
  const margin = options.freeSpaceMarginBytes ?? DEFAULT_FREE_SPACE_MARGIN_BYTES;
  if (!Number.isSafeInteger(margin) || margin < 0) throw new ConfigurationError(`freeSpaceMarginBytes must be a non-negative integer, got ${margin}`);
  const shown = redactUrl(parsed);
  throwIfAborted(options.signal, shown);
  const partial = partialPathOf(destination);
  const file = await openPartial(partial, shown);
  return {
    url: parsed,
    shown,
    destination,
    partial,
    directory: dirname(destination),
    expected: checked,
    readTimeoutMs,
    margin,
    statfs: options.statfs ?? nodeStatfs,
    signal: options.signal,
    progress: new Progress(checked.length, options.onProgress),
    file,
    hash: createHash("sha256"),
    offset: 0,
    written: 0,
    batch: [],
    batchBytes: 0,
    writing: undefined,
    writesStopped: false,
    fromEarlier: false,
    requests: 0,
    spaceCheckedFor: 0,
    flushing: undefined,
    unflushed: 0,
  };
}

function parseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ConfigurationError(`cannot download ${redactUrl(url)}: not a URL`, { cause: error });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ConfigurationError(`cannot download ${redactUrl(parsed)}: only http and https URLs are supported`);
  }
  return parsed;
}

function checkExpected(expected: ExpectedFile): ExpectedFile {
  if (!Number.isSafeInteger(expected.length) || expected.length < 0) {
    throw new ConfigurationError(`the expected length of a download must be a non-negative integer, got ${expected.length}`);
  }
  const sha256 = expected.sha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ConfigurationError(`the expected sha256 of a download must be 64 hex digits, got ${JSON.stringify(expected.sha256)}`);
  return { length: expected.length, sha256 };
}

function positiveNumber(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new ConfigurationError(`${name} must be a positive number of milliseconds, got ${value}`);
  return value;
}

// ---------------------------------------------------------------------------
// The partial file

/** Opens (or creates) the partial file for reading and writing, never through a symbolic link. */
async function openPartial(partial: string, shown: string): Promise<FileHandle> {
  let file: FileHandle;
  try {
    file = await open(partial, constants.O_RDWR | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0), 0o644);
  } catch (error) {
    throw fileSystemError(error, partial, shown);
  }
  const stats = await file.stat();
  if (!stats.isFile()) {
    await file.close();
    throw new DownloadError({ kind: "file-system", retryable: false, url: shown, what: `cannot download ${shown}: ${partial} is not a regular file`, hint: `remove ${partial}; the agent recreates it` });
  }
  return file;
}

/**
 * Takes up what an earlier attempt left: a partial file longer than the
 * signed length is emptied, a shorter or complete one is hashed, so the hash
 * continues with the bytes that come next. Returns the bytes kept.
 */
async function resumePartial(t: Transfer): Promise<number> {
  const size = (await t.file.stat()).size;
  if (size > t.expected.length) {
    await truncate(t);
    return 0;
  }
  const buffer = Buffer.allocUnsafe(Math.min(HASH_CHUNK_BYTES, Math.max(size, 1)));
  let position = 0;
  while (position < size) {
    throwIfAborted(t.signal, t.shown);
    const { bytesRead } = await readAt(t, buffer, Math.min(buffer.length, size - position), position);
    if (bytesRead === 0) break;
    t.hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  t.offset = position;
  t.written = position;
  t.fromEarlier = position > 0;
  t.progress.report(position, true);
  return position;
}

async function readAt(t: Transfer, buffer: Buffer, length: number, position: number): Promise<{ bytesRead: number }> {
  try {
    return await t.file.read(buffer, 0, length, position);
  } catch (error) {
    throw fileSystemError(error, t.partial, t.shown);
  }
}

/** Empties the partial file: the download starts over from byte 0. */
async function truncate(t: Transfer): Promise<void> {
  try {
    await t.file.truncate(0);
  } catch (error) {
    throw fileSystemError(error, t.partial, t.shown);
  }
  t.hash = createHash("sha256");
  t.offset = 0;
  t.written = 0;
  t.batch = [];
  t.batchBytes = 0;
  t.fromEarlier = false;
  t.progress.report(0, true);
}

/**
 * Takes `chunk`, the next bytes of the body, into the hash and starts
 * writing it (with whatever came while the previous write ran) without
 * waiting for the disk, unless a write is still in flight: then it waits in
 * the batch, and the body waits only once the batch holds
 * {@link WRITE_BATCH_BYTES}. Bytes are written in the order received, each at
 * its place: the partial file is always a prefix of what was received, short
 * of it by at most one write and one batch.
 */
async function append(t: Transfer, chunk: Buffer): Promise<void> {
  if (chunk.length === 0) return;
  t.hash.update(chunk);
  t.offset += chunk.length;
  t.batch.push(chunk);
  t.batchBytes += chunk.length;
  if (t.writing && !t.writing.finished && t.batchBytes < WRITE_BATCH_BYTES) return;
  await writeBatch(t);
}

/** Waits for the write in flight, then starts writing the batch (without waiting for it). */
async function writeBatch(t: Transfer): Promise<void> {
  await settleWrite(t);
  if (t.batchBytes === 0) return;
  const buffers = t.batch;
  const bytes = t.batchBytes;
  t.batch = [];
  t.batchBytes = 0;
  const writing = { done: writeAll(t.file, buffers, t.written), bytes, finished: false };
  writing.done.then(
    () => (writing.finished = true),
    () => (writing.finished = true), // the failure is observed by settleWrite
  );
  t.writing = writing;
}

/**
 * Waits for the write in flight, if any: its bytes are then in the partial
 * file (a flush is started behind them every {@link FLUSH_BEHIND_BYTES}, and
 * progress reported). A failed write stops all further writes; its failure
 * is the download's.
 */
async function settleWrite(t: Transfer): Promise<void> {
  const writing = t.writing;
  if (!writing) return;
  t.writing = undefined;
  try {
    await writing.done;
  } catch (error) {
    t.writesStopped = true;
    throw fileSystemError(error, t.partial, t.shown);
  }
  t.written += writing.bytes;
  t.unflushed += writing.bytes;
  if (t.unflushed >= FLUSH_BEHIND_BYTES) await flushBehind(t);
  t.progress.report(t.written);
}

/** Writes every byte received so far and waits for it: afterwards the partial file holds [0, offset). */
async function drainWrites(t: Transfer): Promise<void> {
  if (t.writesStopped) return;
  await writeBatch(t);
  await settleWrite(t);
}

/**
 * Starts an fdatasync of what was written so far, without waiting for it
 * (the body keeps streaming), after the previous one finished: the disk
 * writes back while the network delivers, so the final fsync has little
 * left to do, and dirty pages stay bounded on a device with little memory.
 */
async function flushBehind(t: Transfer): Promise<void> {
  if (t.flushing) await settleFlush(t);
  t.unflushed = 0;
  t.flushing = t.file.datasync();
  t.flushing.catch(() => undefined); // observed by settleFlush
}

/** Waits for the flush in flight, if any; its failure is the download's. */
async function settleFlush(t: Transfer): Promise<void> {
  const flushing = t.flushing;
  t.flushing = undefined;
  try {
    await flushing;
  } catch (error) {
    throw fileSystemError(error, t.partial, t.shown);
  }
}

/** Writes `buffers` one after another from `position`, with as few `writev` calls as the system takes. */
async function writeAll(file: FileHandle, buffers: readonly Buffer[], position: number): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    const { bytesWritten } = await file.writev(rest as Buffer[], position);
    if (bytesWritten <= 0) throw new Error(`a write at byte ${position} of the partial file wrote nothing`);
    position += bytesWritten;
    rest = after(rest, bytesWritten);
  }
}

/** What is left of `buffers` after their first `bytes` bytes. */
function after(buffers: readonly Buffer[], bytes: number): readonly Buffer[] {
  let i = 0;
  let left = bytes;
  while (i < buffers.length && left >= (buffers[i] as Buffer).length) left -= (buffers[i++] as Buffer).length;
  const rest = buffers.slice(i);
  if (left > 0 && rest.length > 0) rest[0] = (rest[0] as Buffer).subarray(left);
  return rest;
}

/** Deletes the partial file (its content is not the signed file); best effort. */
async function discardPartial(t: Transfer): Promise<void> {
  t.writesStopped = true;
  await settleWrite(t).catch(() => undefined);
  await t.file.close().catch(() => undefined);
  await rm(t.partial, { force: true }).catch(() => undefined);
}

/** Free space in the destination's directory must cover `remaining` bytes plus the margin. */
async function ensureFreeSpace(t: Transfer, remaining: number): Promise<void> {
  let space: FreeSpace;
  try {
    space = await t.statfs(t.directory);
  } catch (error) {
    const code = systemErrorCode(error);
    if (code === "ENOSYS" || code === "ENOTSUP" || code === "ERR_FEATURE_UNAVAILABLE_ON_PLATFORM") {
      t.spaceCheckedFor = Number.POSITIVE_INFINITY; // no statfs here: a full disk shows as ENOSPC while writing
      return;
    }
    throw fileSystemError(error, t.directory, t.shown);
  }
  const available = Number(space.bavail) * Number(space.bsize);
  if (available < remaining + t.margin) {
    throw new InsufficientSpaceError({ url: t.shown, directory: t.directory, remaining, margin: t.margin, available });
  }
  t.spaceCheckedFor = remaining;
}

/** The complete partial file must be the signed file; if not, it is deleted. */
async function verifyDigest(t: Transfer): Promise<void> {
  const actual = t.hash.digest("hex");
  if (t.offset === t.expected.length && actual === t.expected.sha256) return;
  await discardPartial(t);
  const what = t.offset !== t.expected.length
    ? `the file downloaded from ${t.shown} has ${t.offset} bytes, the signed length is ${t.expected.length}`
    : `the file downloaded from ${t.shown} is not the signed file: its sha256 is ${actual}, the signed one ${t.expected.sha256}`;
  throw new DownloadError({
    kind: t.offset !== t.expected.length ? "length-mismatch" : "hash-mismatch",
    retryable: t.fromEarlier,
    url: t.shown,
    what,
    hint: t.fromEarlier
      ? "part of it came from an earlier, interrupted attempt; the partial file was deleted and the next attempt downloads it whole"
      : "the server serves other bytes under this name (a corrupted cache or upload, a proxy rewriting it); the partial file was deleted — check the file on the host against the release",
  });
}

/** fsync, rename over the destination, fsync the directory: the destination is absent or complete. */
async function commitFile(t: Transfer): Promise<void> {
  try {
    await settleFlush(t);
    await t.file.sync();
    await t.file.close();
    await rename(t.partial, t.destination);
    await syncDirectory(t.directory);
  } catch (error) {
    throw fileSystemError(error, t.destination, t.shown);
  }
}

// ---------------------------------------------------------------------------
// HTTP

/** Requests the bytes from `offset` until the partial file has the signed length. */
async function fetchRest(t: Transfer): Promise<void> {
  let restarted = false;
  while (t.offset < t.expected.length) {
    if (++t.requests > MAX_REQUESTS) throw protocolError(t, `took more than ${MAX_REQUESTS} requests without completing`, true);
    const response = await request(t);
    try {
      const plan = planResponse(t, response);
      if (plan.kind === "restart") {
        if (restarted) throw protocolError(t, `${plan.reason}, even after starting over without a range`, true);
        restarted = true;
        response.destroy();
        await truncate(t);
        continue;
      }
      // A 200 to a range request: the server ignored it; start over with this body.
      if (plan.kind === "whole" && t.offset > 0) await truncate(t);
      if (t.expected.length - t.offset > t.spaceCheckedFor) await ensureFreeSpace(t, t.expected.length - t.offset);
      await streamBody(t, response, plan.end);
    } finally {
      // Harmless on a body read to its end; closes the connection of one dropped or cut off.
      response.destroy();
    }
  }
}

type Plan =
  /** A 200: the whole file; `end` is the signed length. */
  | { readonly kind: "whole"; readonly end: number }
  /** A 206 that continues the partial file up to `end` (exclusive). */
  | { readonly kind: "range"; readonly end: number }
  /** An answer to drop: start over from 0 with a request without a range. */
  | { readonly kind: "restart"; readonly reason: string };

/** What to do with a 200, 206 or 416 answer to a request from `t.offset`. */
function planResponse(t: Transfer, response: IncomingMessage): Plan {
  const encoding = response.headers["content-encoding"];
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") {
    response.destroy();
    throw protocolError(t, `answered with a ${encoding}-encoded body although the request asked for the bytes as they are`, false);
  }
  const status = response.statusCode ?? 0;
  if (status === 200) {
    const declared = contentLength(response.headers);
    if (declared !== undefined && declared !== t.expected.length) {
      response.destroy();
      throw new DownloadError({
        kind: "length-mismatch",
        retryable: false,
        url: t.shown,
        what: `the server says ${t.shown} has ${declared} bytes; the signed file has ${t.expected.length}`,
        hint: "the host serves another file under this name; check the release's files on the host (a partial upload, a wrong object)",
      });
    }
    return { kind: "whole", end: t.expected.length };
  }
  if (status === 416) return { kind: "restart", reason: `answered 416 (range not satisfiable) to a request from byte ${t.offset}` };
  return planRange(t, response);
}

/** A 206 is appended only when it starts exactly where the partial file ends and belongs to a file of the signed length. */
function planRange(t: Transfer, response: IncomingMessage): Plan {
  const header = response.headers["content-range"] ?? "";
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  const elsewhere = { kind: "restart", reason: `answered a range (${JSON.stringify(header)}) that does not continue the ${t.offset} bytes on disk` } as const;
  if (!match) return elsewhere;
  const [start, last] = [Number(match[1]), Number(match[2])];
  const total = match[3] === "*" ? undefined : Number(match[3]);
  if (start !== t.offset || last < start || last >= t.expected.length || (total !== undefined && total !== t.expected.length)) return elsewhere;
  const declared = contentLength(response.headers);
  if (declared !== undefined && declared !== last - start + 1) return elsewhere;
  return { kind: "range", end: last + 1 };
}

function contentLength(headers: IncomingHttpHeaders): number | undefined {
  const value = headers["content-length"];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** GET from `t.offset`, following redirects; resolves with a 200, 206 or 416 answer, throws a {@link DownloadError} for anything else. */
async function request(t: Transfer): Promise<IncomingMessage> {
  let url = t.url;
  for (let hop = 0; ; hop++) {
    const response = await get(t, url);
    const status = response.statusCode ?? 0;
    if (status === 200 || status === 206 || status === 416) return response;
    response.destroy();
    const location = response.headers.location;
    if (![301, 302, 303, 307, 308].includes(status) || location === undefined) throw statusError(t, status, response);
    if (hop >= MAX_REDIRECTS) throw protocolError(t, `redirected more than ${MAX_REDIRECTS} times`, false);
    url = redirectTarget(t, url, location);
  }
}

function redirectTarget(t: Transfer, from: URL, location: string): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch (error) {
    throw protocolError(t, `redirected to something that is not a URL`, false, error);
  }
  if (next.protocol !== "https:" && next.protocol !== "http:") throw protocolError(t, `redirected to a ${next.protocol} URL`, false);
  if (from.protocol === "https:" && next.protocol === "http:") throw protocolError(t, `redirected from https to plain http (${redactUrl(next)})`, false);
  return next;
}

/** One GET: the answer's headers must come within the read timeout. */
function get(t: Transfer, url: URL): Promise<IncomingMessage> {
  const headers: Record<string, string> = { "accept-encoding": "identity", "user-agent": "slmops-agent" };
  if (t.offset > 0) headers["range"] = `bytes=${t.offset}-`;
  const client = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { headers });
    const timer = setTimeout(() => req.destroy(new ReadTimeout()), t.readTimeoutMs);
    const onAbort = (): void => void req.destroy(new Aborted());
    const settle = (): void => {
      clearTimeout(timer);
      t.signal?.removeEventListener("abort", onAbort);
    };
    t.signal?.addEventListener("abort", onAbort, { once: true });
    // Errors of the socket after the answer reach the body stream too; this listener keeps them from being unhandled.
    req.on("error", (error) => {
      settle();
      reject(requestError(t, error));
    });
    req.on("response", (response) => {
      settle();
      resolve(response);
    });
    if (t.signal?.aborted) onAbort();
  });
}

/** What the progress callback (or a file-system bug) threw, carried out of the body loop unchanged. */
class CallbackFailure {
  constructor(readonly error: unknown) {}
}

/**
 * Streams a 200 or 206 body to the partial file until `end`. The read
 * timeout runs only while waiting for the server (not while waiting for the
 * disk), and a chunk that would pass `end` is not written: the response is
 * cut off. However the body ends, what was received is written before this
 * returns or throws (unless a write failed), so a resume continues from it.
 */
async function streamBody(t: Transfer, response: IncomingMessage, end: number): Promise<void> {
  const idle = new IdleTimer(t.readTimeoutMs, () => response.destroy(new ReadTimeout()));
  const onAbort = (): void => void response.destroy(new Aborted());
  t.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (t.signal?.aborted) onAbort();
    idle.waiting();
    for await (const chunk of response as AsyncIterable<Buffer>) {
      idle.working();
      if (t.offset + chunk.length > end) {
        response.destroy();
        await discardPartial(t);
        throw tooLong(t, end);
      }
      await append(t, chunk).catch((error: unknown) => {
        throw error instanceof DownloadError ? error : new CallbackFailure(error);
      });
      idle.waiting();
    }
    idle.working();
    await drainWrites(t).catch((error: unknown) => {
      throw error instanceof DownloadError ? error : new CallbackFailure(error);
    });
  } catch (error) {
    // Keep what arrived for the next attempt (best effort: this failure is the one reported).
    idle.working();
    await drainWrites(t).catch(() => undefined);
    if (error instanceof DownloadError) throw error;
    if (error instanceof CallbackFailure) throw error.error;
    throw bodyError(t, error, end);
  } finally {
    idle.stop();
    t.signal?.removeEventListener("abort", onAbort);
  }
  if (t.offset < end) throw truncated(t, end);
}

/**
 * A timer that fires only while armed: armed while waiting for the server,
 * disarmed while the chunk just read is written.
 */
class IdleTimer {
  readonly #timer: NodeJS.Timeout;
  #armed = false;

  constructor(ms: number, onIdle: () => void) {
    this.#timer = setTimeout(() => {
      if (this.#armed) onIdle();
    }, ms);
  }

  /** Starts the wait anew. */
  waiting(): void {
    this.#armed = true;
    this.#timer.refresh();
  }

  working(): void {
    this.#armed = false;
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}

/** Reports progress about every {@link PROGRESS_STEP_BYTES}, and whenever forced. */
class Progress {
  #last = -1;

  constructor(
    readonly total: number,
    readonly callback: ((progress: DownloadProgress) => void) | undefined,
  ) {}

  report(bytes: number, force = false): void {
    if (!this.callback) return;
    if (!force && bytes - this.#last < PROGRESS_STEP_BYTES && bytes !== this.total) return;
    this.#last = bytes;
    this.callback({ bytes, total: this.total });
  }
}
