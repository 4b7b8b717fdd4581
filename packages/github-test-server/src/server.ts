/**
 * A GitHub REST API on loopback for tests. Every request is matched to an
 * operation of GitHub's OpenAPI description and validated (path and query
 * parameters, JSON body, or for a release asset upload the raw bytes' media
 * type and length); every JSON response is validated against the
 * operation's response schema. Anything that does not conform is answered
 * with a 4xx (or 5xx for an operation this server does not implement) and
 * recorded in `violations`, which a test asserts is empty.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { loadDescription, type OpenApiDocument } from "./description.js";
import { BLOB_PREFIX, HANDLERS, HttpError, releaseDownload, type HandlerResult } from "./handlers.js";
import { OperationIndex, type Operation } from "./operations.js";
import { checkRequest, type RequestBody } from "./request-check.js";
import { declaresStatus, responseSchema } from "./responses.js";
import { GitHubState, type Actor } from "./state.js";
import { SchemaValidator } from "./validator.js";

export type ViolationKind = "unknown-route" | "invalid-request" | "invalid-response" | "unimplemented" | "unauthenticated" | "request-too-large";

/** A request or response that does not conform to GitHub's description. */
export interface Violation {
  readonly kind: ViolationKind;
  readonly method: string;
  readonly path: string;
  readonly operationId?: string;
  readonly problems: readonly string[];
}

export interface RecordedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly operationId?: string;
  readonly status: number;
  /** The parsed JSON body, when there was one. */
  readonly body?: unknown;
  /** For an operation whose body is not JSON (an asset upload), how many bytes it had; the bytes are not kept here. */
  readonly bodyBytes?: number;
}

export interface GitHubTestServerOptions {
  /** When set, requests must carry `authorization: token <it>` (or `Bearer`). */
  readonly token?: string;
  /** The account the token belongs to (default `github-actions[bot]`). */
  readonly actor?: Actor;
  /** Largest JSON request body accepted (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Largest request body accepted for an operation whose body is not JSON, i.e. a release asset upload (default 512 MiB). */
  readonly maxUploadBytes?: number;
}

export interface GitHubTestServer {
  /** Base URL to give octokit as `baseUrl`, e.g. `http://127.0.0.1:45678`. */
  readonly url: string;
  readonly state: GitHubState;
  readonly violations: readonly Violation[];
  readonly requests: readonly RecordedRequest[];
  /** Human-readable list of the violations (for assertion messages). */
  describeViolations(): string;
  close(): Promise<void>;
}

const DOCS = "https://docs.github.com/rest";

interface Shared {
  readonly doc: OpenApiDocument;
  readonly index: OperationIndex;
  readonly validator: SchemaValidator;
}

let shared: Shared | undefined;

/** The description, its operation index and the schema validator, built once per process. */
function sharedResources(): Shared {
  if (!shared) {
    const doc = loadDescription();
    shared = { doc, index: new OperationIndex(doc), validator: new SchemaValidator(doc) };
  }
  return shared;
}

class BodyTooLarge extends Error {}

/** The request body; over `limit` bytes the rest is drained and the read fails, so a 413 can still be answered. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on("end", () => (size > limit ? reject(new BodyTooLarge(`request body of ${size} bytes is larger than ${limit} bytes`)) : resolve(Buffer.concat(chunks))));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    ...(body === undefined ? {} : { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) }),
    "x-github-media-type": "github.v3; format=json",
    ...headers,
  });
  res.end(text);
}

function tokenOf(header: string | undefined): string | undefined {
  const m = /^(?:token|bearer)\s+(\S+)$/i.exec(header ?? "");
  return m?.[1];
}

/** Starts the server on 127.0.0.1 at a free port. */
export async function startGitHubTestServer(options: GitHubTestServerOptions = {}): Promise<GitHubTestServer> {
  const { doc, index, validator } = sharedResources();
  const state = new GitHubState(options.actor);
  const violations: Violation[] = [];
  const requests: RecordedRequest[] = [];
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const maxUpload = options.maxUploadBytes ?? 512 * 1024 * 1024;
  let baseUrl = "";

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", baseUrl);
    const record = (status: number, operationId?: string, body?: unknown): void => {
      const kept = body instanceof Uint8Array ? { bodyBytes: body.byteLength } : body !== undefined ? { body } : {};
      requests.push({ method, url: `${url.pathname}${url.search}`, status, ...(operationId ? { operationId } : {}), ...kept });
    };
    const violate = (kind: ViolationKind, problems: string[], operation?: Operation): void => {
      violations.push({ kind, method, path: url.pathname, ...(operation ? { operationId: operation.operationId } : {}), problems });
    };

    if (method === "GET" && url.pathname.startsWith(BLOB_PREFIX)) {
      const id = Number(url.pathname.slice(BLOB_PREFIX.length).split("/")[0]);
      const artifact = state.findArtifact(id);
      if (!artifact) {
        res.writeHead(404).end();
        record(404);
        return;
      }
      res.writeHead(200, { "content-type": "application/zip", "content-length": artifact.zip.byteLength });
      res.end(Buffer.from(artifact.zip));
      record(200);
      return;
    }

    if (method === "GET") {
      const download = releaseDownload(state, url.pathname);
      if (download) {
        if (!download.asset) {
          res.writeHead(404).end();
          record(404);
          return;
        }
        download.asset.downloadCount++;
        res.writeHead(200, {
          "content-type": "application/octet-stream",
          "content-length": download.asset.data.byteLength,
          "content-disposition": `attachment; filename=${download.asset.name}`,
        });
        res.end(Buffer.from(download.asset.data.buffer, download.asset.data.byteOffset, download.asset.data.byteLength));
        record(200);
        return;
      }
    }

    const match = index.match(method, url.pathname);

    let raw: Buffer;
    try {
      raw = await readBody(req, match?.operation.rawBody ? maxUpload : maxBody);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        violate("request-too-large", [error.message], match?.operation);
        sendJson(res, 413, { message: "Request body too large", documentation_url: DOCS, status: "413" });
        record(413, match?.operation.operationId);
        return;
      }
      throw error;
    }

    if (!match) {
      const others = index.methodsFor(url.pathname);
      violate("unknown-route", [others.length > 0 ? `${method} is not an operation of ${url.pathname} (it has ${others.join(", ")})` : `no operation of api.github.com has the path ${url.pathname}`]);
      sendJson(res, 404, { message: "Not Found", documentation_url: DOCS, status: "404" });
      record(404);
      return;
    }
    const { operation } = match;

    if (options.token !== undefined && tokenOf(req.headers.authorization) !== options.token) {
      violate("unauthenticated", ["the request has no valid authorization header"], operation);
      sendJson(res, 401, { message: "Bad credentials", documentation_url: DOCS, status: "401" });
      record(401, operation.operationId);
      return;
    }

    let body: RequestBody = { present: false, value: undefined };
    if (operation.rawBody) {
      // Passed through as bytes; their media type and length are checked with the parameters.
      body = { present: raw.length > 0, value: raw, contentType: req.headers["content-type"], contentLength: req.headers["content-length"] };
    } else if (raw.length > 0) {
      try {
        body = { present: true, value: JSON.parse(raw.toString("utf8")) as unknown };
      } catch {
        violate("invalid-request", ["the request body is not valid JSON"], operation);
        sendJson(res, 400, { message: "Problems parsing JSON", documentation_url: DOCS, status: "400" });
        record(400, operation.operationId);
        return;
      }
    }

    const checked = checkRequest(validator, operation, match.pathParams, url.searchParams, body);
    if (checked.problems.length > 0) {
      violate("invalid-request", [...checked.problems], operation);
      sendJson(res, 422, { message: "Validation Failed", documentation_url: DOCS, status: "422", errors: checked.problems.map((message) => ({ code: "invalid", message })) });
      record(422, operation.operationId, body.value);
      return;
    }

    const handler = HANDLERS[operation.operationId];
    if (!handler) {
      violate("unimplemented", [`${operation.operationId} (${operation.method} ${operation.path}) is valid but this test server does not implement it`], operation);
      sendJson(res, 501, { message: "Not Implemented by the test server", documentation_url: DOCS, status: "501" });
      record(501, operation.operationId, body.value);
      return;
    }

    let result: HandlerResult;
    try {
      result = handler({ doc, operation, params: checked.params, body: checked.body, url, headers: req.headers, state, baseUrl });
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      result = { status: error.status, body: { message: error.message, ...(error.errors ? { errors: error.errors } : {}), documentation_url: DOCS, status: String(error.status) } };
    }
    if (result.body !== undefined && declaresStatus(operation, result.status)) {
      const schema = responseSchema(doc, operation, result.status);
      if (schema !== undefined) {
        const problems = validator.validate(`${operation.method} ${operation.path} response ${result.status}`, schema, result.body);
        if (problems.length > 0) violate("invalid-response", problems.map((p) => `response ${result.status} ${p}`), operation);
      }
    }
    sendJson(res, result.status, result.body, result.headers);
    record(result.status, operation.operationId, body.value);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      violations.push({ kind: "unimplemented", method: req.method ?? "?", path: req.url ?? "?", problems: [`the test server failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`] });
      if (!res.headersSent) sendJson(res, 500, { message: "Test server error", documentation_url: DOCS, status: "500" });
      else res.end();
    });
  });
  // Clients run in this process: while a test blocks the event loop (hashing or comparing large
  // assets), Node's 5 s default would let the server drop an idle connection just as the client
  // reuses it (ECONNRESET). The client closes idle connections before this hint runs out.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    url: baseUrl,
    state,
    violations,
    requests,
    describeViolations: () => violations.map((v) => `${v.kind}: ${v.method} ${v.path}${v.operationId ? ` (${v.operationId})` : ""}\n  ${v.problems.join("\n  ")}`).join("\n"),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
