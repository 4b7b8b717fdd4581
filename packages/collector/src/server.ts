/**
 * The collector's HTTP service (node:http):
 *
 *   POST /v1/reports  one report (schemas/collector-report.schema.json), `Authorization: Bearer <device token>`
 *   GET  /healthz     200 while the database answers, 503 otherwise
 *   GET  /metrics     Prometheus text format
 *
 * A report is checked in the order that costs an attacker most and the
 * collector least: the token (401 none or unknown, 403 revoked), the media
 * type (415), the declared length (413, before any of the body is read), the
 * device's rate (429 with Retry-After), then the body, read up to the limit
 * (413 past it), parsed (400) and checked (422), the token's device against
 * the report's (403), and stored once per (device, id): 202 stored, 200 for a
 * retry already stored, 409 for the same id with other content. Every
 * refusal is a JSON body `{ "error": { "code", "message", "hint"? } }` and
 * stores nothing. The service keeps no state but the rate limiter's buckets,
 * so collectors behind a load balancer can share one PostgreSQL database.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { CollectorMetrics, type RefusalReason } from "./metrics.js";
import { RateLimiter, type RateLimitOptions } from "./rate-limit.js";
import { checkReport, MAX_EVENTS_PER_REPORT, type ReportProblem } from "./report.js";
import type { CollectorStore } from "./store.js";
import { hashToken, isTokenShaped } from "./tokens.js";

/** The largest report body accepted by default: 100 events with long reasons fit well inside it. */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

export const REPORTS_PATH = "/v1/reports";

export interface CollectorOptions {
  readonly store: CollectorStore;
  /** Default 127.0.0.1; a collector for a real fleet listens on 0.0.0.0 behind TLS (a reverse proxy). */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  readonly maxBodyBytes?: number;
  /** Per-device token bucket; `false` turns it off. */
  readonly rateLimit?: RateLimitOptions | false;
  /** Node's process metrics on /metrics as well (default true). */
  readonly processMetrics?: boolean;
  /** Where failures of the database go (default: standard error). */
  readonly log?: (line: string) => void;
}

export interface Collector {
  readonly url: string;
  readonly port: number;
  readonly server: http.Server;
  readonly metrics: CollectorMetrics;
  close(): Promise<void>;
}

interface Refusal {
  readonly status: number;
  readonly reason: RefusalReason;
  readonly message: string;
  readonly hint?: string;
  readonly problems?: readonly ReportProblem[];
  readonly headers?: Readonly<Record<string, string>>;
}

class BodyTooLarge extends Error {}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), "cache-control": "no-store", ...headers });
  res.end(text);
}

/**
 * Answers a refusal. When the request body has not been read (or not to its
 * end), the connection closes after the answer: nothing more is read from it.
 */
function refuse(req: http.IncomingMessage, res: http.ServerResponse, refusal: Refusal): void {
  const unread = !req.complete;
  const headers: Record<string, string> = { ...refusal.headers };
  if (unread) headers.connection = "close";
  const error = { code: refusal.reason, message: refusal.message, ...(refusal.hint ? { hint: refusal.hint } : {}), ...(refusal.problems ? { problems: refusal.problems } : {}) };
  sendJson(res, refusal.status, { error }, headers);
  if (unread) {
    req.pause();
    // Give the answer time to reach the client before the socket goes (closing with unread data resets it).
    res.once("finish", () => setTimeout(() => req.socket.destroy(), 200).unref());
  }
}

function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [type, ...params] = contentType.split(";").map((part) => part.trim().toLowerCase());
  if (type !== "application/json") return false;
  return params.every((param) => !param.startsWith("charset=") || param === "charset=utf-8" || param === 'charset="utf-8"');
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off("data", onData);
        req.pause();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks, size)));
    req.once("error", reject);
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false; message: string } {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return { ok: false, message: "the body is not valid UTF-8" };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, message: `the body is not valid JSON: ${(error as Error).message}` };
  }
}

const SCHEMA_HINT = "see schemas/collector-report.schema.json for the report format";

export class CollectorService {
  readonly metrics: CollectorMetrics;
  readonly #store: CollectorStore;
  readonly #maxBodyBytes: number;
  readonly #limiter: RateLimiter | undefined;
  readonly #log: (line: string) => void;

  constructor(options: CollectorOptions) {
    this.#store = options.store;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#limiter = options.rateLimit === false ? undefined : new RateLimiter(options.rateLimit ?? {});
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.metrics = new CollectorMetrics(options.store, { processMetrics: options.processMetrics ?? true });
  }

  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === REPORTS_PATH) {
      if (req.method !== "POST") return refuse(req, res, { status: 405, reason: "method-not-allowed", message: `${REPORTS_PATH} takes POST`, headers: { allow: "POST" } });
      const started = performance.now();
      res.once("finish", () => this.metrics.ingestSeconds.observe({ outcome: res.statusCode < 300 ? "accepted" : "refused" }, (performance.now() - started) / 1000));
      this.#report(req, res).catch((error: unknown) => this.#unavailable(req, res, error));
      return;
    }
    if (path === "/healthz" || path === "/metrics") {
      if (req.method !== "GET" && req.method !== "HEAD") return refuse(req, res, { status: 405, reason: "method-not-allowed", message: `${path} takes GET`, headers: { allow: "GET, HEAD" } });
      (path === "/healthz" ? this.#health(res) : this.#metricsText(res)).catch((error: unknown) => this.#unavailable(req, res, error));
      return;
    }
    refuse(req, res, { status: 404, reason: "not-found", message: `nothing at ${path}`, hint: `reports go to POST ${REPORTS_PATH}; also GET /healthz and GET /metrics` });
  };

  #refuse(req: http.IncomingMessage, res: http.ServerResponse, refusal: Refusal): void {
    this.metrics.refused.inc({ reason: refusal.reason });
    refuse(req, res, refusal);
  }

  #unavailable(req: http.IncomingMessage, res: http.ServerResponse, error: unknown): void {
    this.#log(`collector: the database (${this.#store.kind} ${this.#store.location}) failed: ${(error as Error)?.message ?? String(error)}`);
    if (res.headersSent) return void res.destroy();
    this.#refuse(req, res, { status: 503, reason: "unavailable", message: "the collector cannot reach its database", hint: "retry later with the same report id", headers: { "retry-after": "5" } });
  }

  async #report(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const authorization = req.headers.authorization ?? "";
    const bearer = /^Bearer ([^\s]+)$/i.exec(authorization.trim());
    const unauthenticated = { "www-authenticate": 'Bearer realm="slmops-collector"' };
    if (!bearer?.[1]) {
      return this.#refuse(req, res, { status: 401, reason: "unauthenticated", message: "no device token: send `Authorization: Bearer <token>`", hint: "issue one with `slmops collector token add <device>`", headers: unauthenticated });
    }
    const token = bearer[1];
    const record = isTokenShaped(token) ? await this.#store.findToken(hashToken(token)) : undefined;
    if (!record) {
      return this.#refuse(req, res, { status: 401, reason: "unauthenticated", message: "the device token is not one this collector issued", hint: "check the agent's token file; issue one with `slmops collector token add <device>`", headers: unauthenticated });
    }
    if (record.revokedAt) {
      return this.#refuse(req, res, { status: 403, reason: "revoked", message: `the device token of ${JSON.stringify(record.device)} was revoked at ${record.revokedAt}`, hint: "issue the device a new token with `slmops collector token add`" });
    }
    if (!isJson(req.headers["content-type"])) {
      return this.#refuse(req, res, { status: 415, reason: "unsupported-media-type", message: `a report is JSON: send \`Content-Type: application/json\`, not ${JSON.stringify(req.headers["content-type"] ?? "none")}` });
    }
    const tooLarge: Refusal = {
      status: 413,
      reason: "too-large",
      message: `a report is at most ${this.#maxBodyBytes} bytes`,
      hint: `send at most ${MAX_EVENTS_PER_REPORT} events per report and split a longer backlog`,
    };
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > this.#maxBodyBytes) return this.#refuse(req, res, tooLarge);
    const rate = this.#limiter?.take(record.device);
    if (rate && !rate.allowed) {
      return this.#refuse(req, res, {
        status: 429,
        reason: "rate-limited",
        message: `device ${JSON.stringify(record.device)} sends more than ${this.#limiter?.perMinute} reports a minute`,
        hint: `retry after ${rate.retryAfterSeconds} s with the same report id`,
        headers: { "retry-after": String(rate.retryAfterSeconds) },
      });
    }
    let body: Buffer;
    try {
      body = await readBody(req, this.#maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge) return this.#refuse(req, res, tooLarge);
      throw error;
    }
    const parsed = parseJson(body);
    if (!parsed.ok) return this.#refuse(req, res, { status: 400, reason: "malformed-json", message: parsed.message, hint: SCHEMA_HINT });
    const checked = checkReport(parsed.value);
    if (!checked.ok) {
      const first = checked.problems[0];
      return this.#refuse(req, res, {
        status: 422,
        reason: "invalid-report",
        message: `the report is not valid: ${first ? `${first.pointer} ${first.message}` : "?"}${checked.problems.length > 1 ? ` (and ${checked.problems.length - 1} more)` : ""}`,
        hint: SCHEMA_HINT,
        problems: checked.problems,
      });
    }
    const report = checked.report;
    if (report.device !== record.device) {
      return this.#refuse(req, res, { status: 403, reason: "device-mismatch", message: `the token is of device ${JSON.stringify(record.device)}, the report of ${JSON.stringify(report.device)}`, hint: "each device sends its reports with its own token" });
    }
    const outcome = await this.#store.insertReport(report);
    if (outcome === "conflict") {
      return this.#refuse(req, res, { status: 409, reason: "conflict", message: `report ${report.id} of ${JSON.stringify(report.device)} is already stored with other content`, hint: "a retry must resend the same report; a new report needs a new id" });
    }
    if (outcome === "duplicate") {
      this.metrics.accepted.inc({ result: "duplicate" });
      return sendJson(res, 200, { status: "already stored", id: report.id });
    }
    this.metrics.stored(report);
    sendJson(res, 202, { status: "stored", id: report.id });
  }

  async #health(res: http.ServerResponse): Promise<void> {
    try {
      await this.#store.ping();
      sendJson(res, 200, { status: "ok", store: this.#store.kind });
    } catch (error) {
      sendJson(res, 503, { status: "unavailable", store: this.#store.kind, error: (error as Error).message });
    }
  }

  async #metricsText(res: http.ServerResponse): Promise<void> {
    const text = await this.metrics.registry.metrics();
    res.writeHead(200, { "content-type": this.metrics.registry.contentType, "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
    res.end(text);
  }
}

/** Starts the collector on host:port (default 127.0.0.1 and a free port). The store must be migrated. */
export async function startCollector(options: CollectorOptions): Promise<Collector> {
  const service = new CollectorService(options);
  const server = http.createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 65_000 }, service.handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    server,
    metrics: service.metrics,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}
