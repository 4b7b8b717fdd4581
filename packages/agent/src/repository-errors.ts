/**
 * What a failure of tuf-js's metadata walk means for the one who reads it.
 * tuf-js and @tufjs/models throw classes of their own (`ExpiredMetadataError`,
 * `DownloadHTTPError` …) that set no `name` and are not exported from their
 * entry points, so they are told apart by the constructors along the
 * prototype chain. A bundler may rename a class whose name another module
 * also uses (`DownloadHTTPError2`), so a trailing number is not part of it.
 */
import { STATUS_CODES } from "node:http";
import { redactUrl } from "./download-errors.js";

/** tuf-js's and @tufjs/models' error classes: each a refusal of what the repository served, or (the Download ones) of how it answered. */
const TUF_ERRORS = new Set([
  "ValueError",
  "RuntimeError",
  "PersistError",
  "RepositoryError",
  "BadVersionError",
  "EqualVersionError",
  "ExpiredMetadataError",
  "UnsignedMetadataError",
  "LengthOrHashMismatchError",
  "CryptoError",
  "UnsupportedAlgorithmError",
  "DownloadError",
  "DownloadLengthMismatchError",
  "DownloadHTTPError",
]);

function classNames(error: unknown): string[] {
  const names: string[] = [];
  for (let p: unknown = error === null || typeof error !== "object" ? undefined : Object.getPrototypeOf(error); p && p !== Error.prototype && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const ctor = (p as { constructor?: { name?: unknown } }).constructor;
    if (typeof ctor?.name === "string") names.push(ctor.name.replace(/\d+$/, ""));
  }
  return names;
}

/** Whether tuf-js (or @tufjs/models) threw it: the repository's metadata was refused, or could not be fetched. */
export function isTufError(error: unknown): boolean {
  return classNames(error).some((name) => TUF_ERRORS.has(name));
}

/** The HTTP status of a metadata request the repository answered with an error, if that is what failed. */
export function httpStatusOf(error: unknown): number | undefined {
  if (!classNames(error).includes("DownloadHTTPError")) return undefined;
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === "number" ? status : undefined;
}

/** Whether a server that answered `status` may answer otherwise later: 408, 429 and 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The system error code under a `fetch failed` (undici puts it in `cause`), e.g. `ECONNREFUSED`. */
function unreachableCode(error: unknown): string | undefined {
  if (!(error instanceof TypeError) || error.message !== "fetch failed") return undefined;
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  if (typeof cause?.code === "string") return cause.code;
  return typeof cause?.message === "string" ? cause.message.split("\n")[0] : "no answer";
}

/**
 * One line saying why the repository's metadata could not be had, naming
 * the repository (without credentials) when it did not answer or answered
 * with an HTTP error; undefined when the failure is not one of those.
 */
export function repositoryUnreachable(error: unknown, repository: string): string | undefined {
  const where = /^https?:\/\//i.test(repository) ? redactUrl(repository) : repository;
  const status = httpStatusOf(error);
  if (status !== undefined) {
    const what = `${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ""}`;
    const fix =
      status === 404 || status === 410
        ? "check the repository URL (it serves metadata/timestamp.json) and that a release was published there"
        : isRetryableStatus(status)
          ? "the server failed; it is tried again later"
          : "check the repository URL and the server's access rules";
    return `the release repository ${where} answered HTTP ${what} for its metadata; ${fix}`;
  }
  const code = unreachableCode(error);
  if (code !== undefined) return `the release repository ${where} cannot be reached (${code}); check the URL and that its server is running`;
  return undefined;
}
