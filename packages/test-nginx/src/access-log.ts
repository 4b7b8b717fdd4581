/** One request as nginx logged it (the access log is JSON lines; see config.ts's log_format). */
export interface AccessLogEntry {
  /** When the request ended (ISO 8601, seconds). */
  time: string;
  /** When the request ended, in milliseconds since the epoch. */
  ms: number;
  method: string;
  /** The request target as sent, query included. */
  uri: string;
  /** The normalized path, without the query (nginx `$uri`). */
  path: string;
  status: number;
  /** Bytes sent to the client, headers included. */
  bytesSent: number;
  /** Body bytes sent; less than the file's size for a range, or for a download cut off mid-way. */
  bodyBytesSent: number;
  /** The request's Range header, or null when it had none. */
  range: string | null;
  ifRange: string | null;
  ifNoneMatch: string | null;
  userAgent: string | null;
  /** Seconds from the first byte read to the last byte written. */
  requestTime: number;
  /** Whether nginx sent the whole response (false when the client went away mid-way). */
  completed: boolean;
  /** nginx's connection serial number: requests with the same one shared a connection. */
  connection: number;
  /** Which request this was on its connection (1 for the first). */
  connectionRequests: number;
  /** The request headers named in `logHeaders` (lower-case names), null when not sent. */
  headers: Record<string, string | null>;
}

interface RawEntry {
  time: string;
  msec: number;
  method: string;
  uri: string;
  path: string;
  status: number;
  bytesSent: number;
  bodyBytesSent: number;
  range: string;
  ifRange: string;
  ifNoneMatch: string;
  userAgent: string;
  requestTime: number;
  completion: string;
  connection: number;
  connectionRequests: number;
  headers: Record<string, string>;
}

const orNull = (value: string): string | null => (value === "" ? null : value);

/**
 * The entries of an access log's text. A last line without its newline is
 * one nginx is still writing, and is left for the next read.
 */
export function parseAccessLog(text: string): AccessLogEntry[] {
  const lines = text.split("\n");
  lines.pop(); // "" after the last newline, or a line still being written
  return lines
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const raw = JSON.parse(line) as RawEntry;
      return {
        time: raw.time,
        ms: Math.round(raw.msec * 1000),
        method: raw.method,
        uri: raw.uri,
        path: raw.path,
        status: raw.status,
        bytesSent: raw.bytesSent,
        bodyBytesSent: raw.bodyBytesSent,
        range: orNull(raw.range),
        ifRange: orNull(raw.ifRange),
        ifNoneMatch: orNull(raw.ifNoneMatch),
        userAgent: orNull(raw.userAgent),
        requestTime: raw.requestTime,
        completed: raw.completion === "OK",
        connection: raw.connection,
        connectionRequests: raw.connectionRequests,
        headers: Object.fromEntries(Object.entries(raw.headers).map(([name, value]) => [name, orNull(value)])),
      };
    });
}
