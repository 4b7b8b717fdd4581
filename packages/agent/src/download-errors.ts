/**
 * The failures of `downloadFile`: one error class with a `kind` and a
 * `retryable` flag, and the functions that tell each failure as what
 * happened, where (the URL without its query) and what to do.
 */
import type { IncomingMessage } from "node:http";
import { EnvironmentError, SlmopsError, systemErrorCode } from "@slmops/diagnostics";
import { formatDuration, formatSize } from "@slmops/units";

/** What the error functions need to know of a download in progress. */
export interface FailureContext {
  readonly url: URL;
  /** The URL for messages ({@link redactUrl}). */
  readonly shown: string;
  readonly partial: string;
  readonly readTimeoutMs: number;
  readonly signal: AbortSignal | undefined;
  /** Bytes in the partial file. */
  readonly offset: number;
  readonly expected: { readonly length: number };
}

/**
 * Why a download failed:
 * - `network`: the host could not be reached or the connection failed before an answer (retryable, except a TLS certificate refusal);
 * - `timeout`: no answer, or no next bytes, within the read timeout (retryable);
 * - `http-status`: an error status: 5xx, 408 and 429 retryable; 404, 403 and the other 4xx permanent;
 * - `truncated`: the body ended before its end (retryable; the partial file is kept);
 * - `protocol`: an answer that makes no sense (a range elsewhere twice, a redirect loop, an encoded body);
 * - `too-long`: the body went past the signed length (permanent; nothing past it is written);
 * - `length-mismatch`: the server declares another length than the signed one (permanent);
 * - `hash-mismatch`: the complete file is not the signed file (permanent, or retryable when part of it came from an earlier attempt);
 * - `disk-space`: not enough free space, checked before the download or met while writing (permanent);
 * - `file-system`: the partial file or the destination could not be written (permanent);
 * - `aborted`: the caller's signal (retryable: the partial file is kept).
 */
export type DownloadFailure =
  | "network"
  | "timeout"
  | "http-status"
  | "truncated"
  | "protocol"
  | "too-long"
  | "length-mismatch"
  | "hash-mismatch"
  | "disk-space"
  | "file-system"
  | "aborted";

export interface DownloadErrorInit {
  readonly kind: DownloadFailure;
  readonly retryable: boolean;
  /** The URL, shown without its query ({@link redactUrl}). */
  readonly url: string;
  /** What happened and where, one line. */
  readonly what: string;
  /** What to do. */
  readonly hint: string;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

/**
 * A download that failed. The message says what happened and where (the URL
 * without its query), and on a second line what to do; `retryable` says
 * whether trying again, unchanged, can succeed (a later attempt resumes from
 * the partial file where one was kept). The underlying error is the `cause`.
 */
export class DownloadError extends SlmopsError {
  readonly kind: DownloadFailure;
  readonly retryable: boolean;
  /** The URL without its query string. */
  readonly url: string;
  readonly hint: string;
  /** The HTTP status, for `http-status`. */
  readonly status: number | undefined;
  /** The server's `Retry-After`, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(init: DownloadErrorInit) {
    super(`${init.what}\n  hint: ${init.hint}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.retryable = init.retryable;
    this.url = init.url;
    this.hint = init.hint;
    this.status = init.status;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/**
 * Free space in the destination's directory is short of what the download
 * still needs plus the margin; found before any byte of the body is read.
 * Permanent (retrying will not free space); the cause is an ENOSPC
 * {@link EnvironmentError} for the directory.
 */
export class InsufficientSpaceError extends DownloadError {
  readonly directory: string;
  /** Bytes still to download plus the margin. */
  readonly neededBytes: number;
  readonly availableBytes: number;

  constructor(init: { readonly url: string; readonly directory: string; readonly remaining: number; readonly margin: number; readonly available: number }) {
    const needed = init.remaining + init.margin;
    super({
      kind: "disk-space",
      retryable: false,
      url: init.url,
      what: `not enough free space in ${init.directory} to download ${init.url}: ${formatSize(needed)} needed (${formatSize(init.remaining)} still to download and a ${formatSize(init.margin)} margin), ${formatSize(init.available)} available`,
      hint: `free at least ${formatSize(needed - init.available)} in ${init.directory} (old downloads, logs), or put the agent's install directory on a larger file system`,
      cause: new EnvironmentError({ operation: "write", path: init.directory, code: "ENOSPC" }),
    });
    this.directory = init.directory;
    this.neededBytes = needed;
    this.availableBytes = init.available;
  }
}

/** A URL as it may be shown: no credentials, no query (signed URLs carry secrets there), no fragment. */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "<invalid URL>";
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}${parsed.search ? "?…" : ""}`;
}

/** Thrown into a request or body stream that waited longer than the read timeout. */
export class ReadTimeout extends Error {}

/** Thrown into a request or body stream when the caller's signal fires. */
export class Aborted extends Error {}

const PARTIAL_KEPT = "the partial file is kept and the next attempt resumes from it";

export function throwIfAborted(signal: AbortSignal | undefined, shown: string): void {
  if (signal?.aborted) throw abortedError(shown, signal);
}

export function abortedError(shown: string, signal: AbortSignal | undefined): DownloadError {
  return new DownloadError({ kind: "aborted", retryable: true, url: shown, what: `the download of ${shown} was stopped`, hint: PARTIAL_KEPT, cause: signal?.reason });
}

/** A failure before the answer's headers. */
export function requestError(t: FailureContext, error: unknown): DownloadError {
  if (error instanceof Aborted) return abortedError(t.shown, t.signal);
  if (error instanceof ReadTimeout) {
    return new DownloadError({
      kind: "timeout",
      retryable: true,
      url: t.shown,
      what: `${t.url.host} did not answer the request for ${t.shown} within ${formatDuration(t.readTimeoutMs)}`,
      hint: `the host or the network is slow or down; try again later, or raise the read timeout for a slow link`,
    });
  }
  const code = systemErrorCode(error) ?? "";
  const reason = error instanceof Error ? error.message : String(error);
  const certificate = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code);
  return new DownloadError({
    kind: "network",
    retryable: !certificate,
    url: t.shown,
    what: `could not get ${t.shown}: ${reason}`,
    hint: certificate
      ? "the host's TLS certificate was refused; check the device's clock and the host's certificate chain"
      : "check the device's network connection and that the host is up; the next attempt tries again",
    cause: error,
  });
}

/** A failure while reading the body: a stall, an abort or a connection that broke. */
export function bodyError(t: FailureContext, error: unknown, end: number): DownloadError {
  if (error instanceof Aborted) return abortedError(t.shown, t.signal);
  const at = `at ${formatSize(t.offset)} of ${formatSize(t.expected.length)}`;
  if (error instanceof ReadTimeout) {
    return new DownloadError({
      kind: "timeout",
      retryable: true,
      url: t.shown,
      what: `the download of ${t.shown} stalled: no data for ${formatDuration(t.readTimeoutMs)} ${at}`,
      hint: `the connection or the server is stuck; ${PARTIAL_KEPT} (raise the read timeout only for a link that pauses this long)`,
    });
  }
  return truncated(t, end, error);
}

export function truncated(t: FailureContext, end: number, cause?: unknown): DownloadError {
  const reason = cause instanceof Error ? ` (${cause.message})` : "";
  return new DownloadError({
    kind: "truncated",
    retryable: true,
    url: t.shown,
    what: `the download of ${t.shown} was cut short${reason}: the connection ended at byte ${t.offset}, before byte ${end}`,
    hint: PARTIAL_KEPT,
    cause,
  });
}

export function tooLong(t: FailureContext, end: number): DownloadError {
  return new DownloadError({
    kind: "too-long",
    retryable: false,
    url: t.shown,
    what: `the server sent more of ${t.shown} than ${end === t.expected.length ? "the signed length" : "the range it announced"} (${end} bytes); the download was cut off there`,
    hint: "the host does not serve the signed file under this name; the partial file was deleted — check the file on the host against the release",
  });
}

export function protocolError(t: FailureContext, what: string, retryable: boolean, cause?: unknown): DownloadError {
  return new DownloadError({
    kind: "protocol",
    retryable,
    url: t.shown,
    what: `the server of ${t.shown} ${what}`,
    hint: retryable ? "the host or a proxy in front of it misbehaves; the next attempt starts over" : "the host or a proxy in front of it is misconfigured; fix its configuration",
    cause,
  });
}

/** An error status: the server's problem (retryable) or the request's (permanent). */
export function statusError(t: FailureContext, status: number, response: IncomingMessage): DownloadError {
  const answered = `the server answered ${status}${response.statusMessage ? ` ${response.statusMessage}` : ""} for ${t.shown}`;
  const retryable = status >= 500 || status === 408 || status === 429;
  const retryAfterMs = retryable ? retryAfter(response.headers["retry-after"]) : undefined;
  const hint =
    status === 404 || status === 410
      ? "the file is not on the host: check the agent's repository URL and that every file of the release was uploaded"
      : status === 401 || status === 403
        ? "the host refuses access: it must serve the repository's targets without credentials (check the bucket or CDN policy)"
        : retryable
          ? `a problem of the host, usually temporary; ${PARTIAL_KEPT}`
          : "the host cannot serve this request as asked; check its configuration";
  return new DownloadError({ kind: "http-status", retryable, url: t.shown, what: answered, hint, status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
function retryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * The file system refused (disk full, read-only, I/O error …): permanent,
 * told as the {@link EnvironmentError} it is (its cause). A code that means a
 * bug is rethrown as it is.
 */
export function fileSystemError(error: unknown, path: string, shown: string): unknown {
  if (error instanceof DownloadError) return error;
  const environment = EnvironmentError.from(error, { path });
  if (!environment) return error;
  const full = environment.code === "ENOSPC" || environment.code === "EDQUOT";
  return new DownloadError({
    kind: full ? "disk-space" : "file-system",
    retryable: false,
    url: shown,
    what: `cannot write ${path} while downloading ${shown}: ${environment.reason} (${environment.code})`,
    hint: full ? `${environment.hint}; ${PARTIAL_KEPT}` : environment.hint,
    cause: environment,
  });
}
