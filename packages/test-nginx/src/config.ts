/**
 * The nginx configuration for one test server, rendered from its options.
 * Pure (no I/O) so that what it accepts and rejects is tested on its own.
 */

/** A location block of its own, for fault injection or for CDN-like headers on part of the tree. */
export interface NginxLocation {
  /**
   * The location's match, as nginx writes it after `location`: a prefix
   * ("/targets/"), an exact match ("= /metadata/timestamp.json") or a regex
   * ("~ \\.json$"). nginx picks exact matches first, then the longest prefix,
   * then the first regex that matches (regexes win over plain prefixes).
   */
  match: string;
  /**
   * Answer every request with this status (nginx `return`) instead of serving
   * files, e.g. 500 or 503. Without it the location serves files from the root.
   */
  status?: number;
  /** With `status`: the text/plain body; for 301, 302, 303, 307 and 308, the redirect's URL. */
  body?: string;
  /** Headers of this location's responses, over the server-wide `headers` (a name given here replaces it). */
  headers?: Readonly<Record<string, string>>;
  /** This location's `limitRate` (bytes per second) instead of the server-wide one; 0 for none. */
  limitRate?: number;
  /** This location's `ignoreRange` instead of the server-wide one. */
  ignoreRange?: boolean;
  /** Raw nginx directives appended inside the block (each ending with `;`). */
  directives?: string;
}

/** What the server does; everything but `root` can change with `reload()`. */
export interface NginxOptions {
  /** The directory served at `/` (e.g. a TUF repository with `metadata/` and `targets/`). */
  root: string;
  /**
   * Ignore Range headers: every GET gets 200 with the whole body (nginx
   * `max_ranges 0`, which also drops `Accept-Ranges`), like a server or CDN
   * without byte-range support.
   */
  ignoreRange?: boolean;
  /**
   * Send each response at most this many bytes per second (nginx
   * `limit_rate`; per connection). nginx lets the first second's worth go at
   * once, so a body of N bytes takes about N / limitRate − 1 seconds.
   */
  limitRate?: number;
  /** Send this many bytes of each response at full speed before `limitRate` starts (nginx `limit_rate_after`). */
  limitRateAfter?: number;
  /**
   * Headers on every response, errors included (nginx `add_header … always`),
   * e.g. `{ "Cache-Control": "public, max-age=300" }` as a CDN would. Values are
   * nginx strings: `$name` is an nginx variable.
   */
  headers?: Readonly<Record<string, string>>;
  /** Location blocks of their own (see {@link NginxLocation}). */
  locations?: readonly NginxLocation[];
  /** Request headers to record in each access-log entry's `headers` (e.g. "authorization", "x-device-id"). */
  logHeaders?: readonly string[];
  /** Raw nginx directives appended inside the `server` block (each ending with `;`). */
  directives?: string;
}

/** Where and how one rendering runs. */
export interface RenderContext {
  port: number;
  /** The prefix directory (absolute): logs, pid file and temp paths go under it. */
  prefix: string;
  /**
   * What the readiness location answers: unique to the server and counting its
   * reloads, so that neither another server on the port nor an old worker is
   * taken for this config being up.
   */
  readyBody: string;
  /** Whether nginx's master runs as root; then workers run as root too (`user root;`) so they can read any test's files. */
  asRoot: boolean;
}

/** The location tests must not use: it tells startNginx and reload() that the server is up, and is never logged. */
export const READY_PATH = "/__slmops-test-nginx/ready";

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A double-quoted nginx string (backslash and quote escaped); newlines and NULs are refused. */
function quote(value: string, what: string): string {
  if (/[\r\n\0]/.test(value)) throw new Error(`${what} must not contain a line break or NUL: ${JSON.stringify(value)}`);
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function headerName(name: string): string {
  if (!TOKEN.test(name)) throw new Error(`not an HTTP header name: ${JSON.stringify(name)}`);
  return name;
}

function nonNegativeInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${what} must be a whole number ≥ 0, not ${value}`);
  return value;
}

/** The JSON field name and the nginx variable of a logged request header. */
export function logHeaderVariable(name: string): string {
  return `$http_${headerName(name).toLowerCase().replace(/-/g, "_")}`;
}

/** Headers with later ones replacing earlier ones of the same name (case-insensitive), first spelling's order kept. */
function mergeHeaders(...sets: (Readonly<Record<string, string>> | undefined)[]): [string, string][] {
  const merged = new Map<string, [string, string]>();
  for (const set of sets) {
    for (const [name, value] of Object.entries(set ?? {})) merged.set(headerName(name).toLowerCase(), [name, value]);
  }
  return [...merged.values()];
}

function addHeaders(headers: [string, string][], indent: string): string[] {
  return headers.map(([name, value]) => `${indent}add_header ${name} ${quote(value, `header ${name}`)} always;`);
}

function rateLines(limitRate: number | undefined, limitRateAfter: number | undefined, indent: string, what: string): string[] {
  const lines: string[] = [];
  if (limitRate !== undefined) lines.push(`${indent}limit_rate ${nonNegativeInteger(limitRate, `${what}limitRate`)};`);
  if (limitRateAfter !== undefined) lines.push(`${indent}limit_rate_after ${nonNegativeInteger(limitRateAfter, `${what}limitRateAfter`)};`);
  return lines;
}

function locationBlock(location: NginxLocation, serverHeaders: Readonly<Record<string, string>> | undefined): string[] {
  const match = location.match.trim();
  if (match === "" || /[{};\r\n]/.test(match)) throw new Error(`not a location match: ${JSON.stringify(location.match)}`);
  if (match.includes(READY_PATH)) throw new Error(`${READY_PATH} is test-nginx's own location`);
  const lines = [`    location ${match} {`];
  // add_header in a block replaces every add_header inherited from the server
  // block, so the server-wide headers are written again here.
  lines.push(...addHeaders(mergeHeaders(serverHeaders, location.headers), "      "));
  if (location.ignoreRange !== undefined) lines.push(`      max_ranges ${location.ignoreRange ? 0 : 2147483647};`);
  lines.push(...rateLines(location.limitRate, undefined, "      ", `location ${match}: `));
  if (location.status !== undefined) {
    const status = location.status;
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new Error(`location ${match}: not an HTTP status: ${status}`);
    if (REDIRECTS.has(status)) {
      if (location.body === undefined) throw new Error(`location ${match}: a ${status} needs the redirect URL as its body`);
      lines.push(`      return ${status} ${quote(location.body, "redirect URL")};`);
    } else if (location.body !== undefined) {
      lines.push("      default_type text/plain;", `      return ${status} ${quote(location.body, "body")};`);
    } else {
      lines.push(`      return ${status};`);
    }
  }
  if (location.directives !== undefined && location.directives.trim() !== "") lines.push(indentBlock(location.directives, "      "));
  lines.push("    }");
  return lines;
}

function indentBlock(text: string, indent: string): string {
  return text
    .trim()
    .split("\n")
    .map((line) => indent + line.trim())
    .join("\n");
}

/** The whole nginx.conf. Throws on an option nginx would misread. */
export function renderConfig(options: NginxOptions, context: RenderContext): string {
  const root = options.root;
  if (!root.startsWith("/")) throw new Error(`root must be an absolute path: ${root}`);
  if (root.includes("$")) throw new Error(`root must not contain "$" (nginx reads it as a variable): ${root}`);
  const prefix = context.prefix;
  nonNegativeInteger(context.port, "port");

  const logFields = [
    `"time":"$time_iso8601"`,
    `"msec":$msec`,
    `"method":"$request_method"`,
    `"uri":"$request_uri"`,
    `"path":"$uri"`,
    `"status":$status`,
    `"bytesSent":$bytes_sent`,
    `"bodyBytesSent":$body_bytes_sent`,
    `"range":"$http_range"`,
    `"ifRange":"$http_if_range"`,
    `"ifNoneMatch":"$http_if_none_match"`,
    `"userAgent":"$http_user_agent"`,
    `"requestTime":$request_time`,
    `"completion":"$request_completion"`,
    `"connection":$connection`,
    `"connectionRequests":$connection_requests`,
  ];
  const logged = [...new Set((options.logHeaders ?? []).map((name) => name.toLowerCase()))];
  const headerFields = logged.map((name) => `${JSON.stringify(name)}:"${logHeaderVariable(name)}"`);
  logFields.push(`"headers":{${headerFields.join(",")}}`);
  const logFormat = `{${logFields.join(",")}}`;

  const lines = [
    "# Written by @slmops/test-nginx; rewritten on every reload().",
    context.asRoot ? "user root;" : "# (not root: workers run as the same user as the master)",
    "daemon off;",
    "master_process on;",
    "worker_processes 1;",
    `pid ${quote(`${prefix}/nginx.pid`, "prefix")};`,
    `error_log ${quote(`${prefix}/logs/error.log`, "prefix")} info;`,
    "",
    "events {",
    "  worker_connections 512;",
    "}",
    "",
    "http {",
    "  types {",
    "    application/json json;",
    "    text/plain txt;",
    "    text/html html;",
    "  }",
    "  default_type application/octet-stream;",
    "  server_tokens off;",
    "  sendfile on;",
    "  keepalive_timeout 30s;",
    `  client_body_temp_path ${quote(`${prefix}/tmp/body`, "prefix")};`,
    `  proxy_temp_path ${quote(`${prefix}/tmp/proxy`, "prefix")};`,
    `  fastcgi_temp_path ${quote(`${prefix}/tmp/fastcgi`, "prefix")};`,
    `  uwsgi_temp_path ${quote(`${prefix}/tmp/uwsgi`, "prefix")};`,
    `  scgi_temp_path ${quote(`${prefix}/tmp/scgi`, "prefix")};`,
    `  log_format slmops_test escape=json '${logFormat}';`,
    `  access_log ${quote(`${prefix}/logs/access.log`, "prefix")} slmops_test;`,
    "",
    "  server {",
    `    listen 127.0.0.1:${context.port};`,
    "    server_name _;",
    `    root ${quote(root, "root")};`,
    "    autoindex off;",
  ];
  lines.push(...addHeaders(mergeHeaders(options.headers), "    "));
  if (options.ignoreRange === true) lines.push("    max_ranges 0;");
  lines.push(...rateLines(options.limitRate, options.limitRateAfter, "    ", ""));
  if (options.directives !== undefined && options.directives.trim() !== "") lines.push(indentBlock(options.directives, "    "));
  lines.push(
    "",
    `    location = ${READY_PATH} {`,
    "      access_log off;",
    "      default_type text/plain;",
    `      return 200 ${quote(context.readyBody, "readyBody")};`,
    "    }",
  );
  for (const location of options.locations ?? []) lines.push("", ...locationBlock(location, options.headers));
  lines.push("  }", "}", "");
  return lines.join("\n");
}
