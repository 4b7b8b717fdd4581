/**
 * Checks one request against its operation: path and query parameters
 * (converted from text by their schema's type, then validated), no unknown
 * query parameters, and the JSON body against the request body schema; a
 * body that is not JSON (a release asset's bytes) against its media types
 * and its `content-length`.
 */
import { isObject } from "./description.js";
import type { Operation, ParameterSpec } from "./operations.js";
import type { SchemaValidator } from "./validator.js";

/** The types a schema allows, looking into `oneOf`/`anyOf` branches. */
function schemaTypes(schema: unknown): Set<string> {
  const types = new Set<string>();
  if (!isObject(schema)) return types;
  if (typeof schema.type === "string") types.add(schema.type);
  if (Array.isArray(schema.type)) for (const t of schema.type) types.add(String(t));
  for (const key of ["oneOf", "anyOf", "allOf"]) {
    const list = schema[key];
    if (Array.isArray(list)) for (const sub of list) for (const t of schemaTypes(sub)) types.add(t);
  }
  return types;
}

/** A parameter's text converted to the JSON value its schema expects. */
export function coerceParameter(text: string, schema: unknown): unknown {
  const types = schemaTypes(schema);
  if ((types.has("integer") && /^-?\d+$/.test(text)) || (types.has("number") && /^-?\d+(\.\d+)?$/.test(text))) return Number(text);
  if (types.has("boolean") && (text === "true" || text === "false")) return text === "true";
  if (types.has("array")) {
    const items = isObject(schema) ? schema.items : undefined;
    return text.split(",").map((part) => coerceParameter(part, items));
  }
  return text;
}

/** A request's body as the server read it. */
export interface RequestBody {
  readonly present: boolean;
  /** The parsed JSON; for an operation whose body is not JSON, the bytes. */
  readonly value: unknown;
  /** The request's `content-type` header (checked for a body that is not JSON). */
  readonly contentType?: string;
  /** The request's `content-length` header (checked for a body that is not JSON). */
  readonly contentLength?: string;
}

/**
 * What is wrong with a body that is not JSON. `application/octet-stream`
 * stands for any media type: GitHub takes an asset of any type and stores
 * the type the upload names. The length must be declared (not chunked) and
 * match the bytes received.
 */
function rawBodyProblems(spec: NonNullable<Operation["rawBody"]>, body: RequestBody): string[] {
  const problems: string[] = [];
  const size = body.value instanceof Uint8Array ? body.value.byteLength : 0;
  if (body.contentLength === undefined) problems.push("a content-length header is required (the body was not sent with one)");
  else if (!/^\d+$/.test(body.contentLength) || Number(body.contentLength) !== size) problems.push(`content-length ${body.contentLength} does not match the ${size} bytes of the body`);
  const mediaType = body.contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
  if (mediaType === "") problems.push(`a content-type header is required (${spec.mediaTypes.join(", ")})`);
  else if (!spec.mediaTypes.some((m) => m === "application/octet-stream" || m === mediaType)) problems.push(`content-type ${mediaType} is not one of ${spec.mediaTypes.join(", ")}`);
  if (spec.required && size === 0) problems.push("a request body is required");
  return problems;
}

export interface CheckedRequest {
  /** Parameter values by name, converted to their types. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly body: unknown;
  /** What is wrong with the request; empty when it is valid. */
  readonly problems: readonly string[];
}

/** Validates path and query parameters and the body of a request. */
export function checkRequest(
  validator: SchemaValidator,
  operation: Operation,
  pathParams: Readonly<Record<string, string>>,
  query: URLSearchParams,
  body: RequestBody,
): CheckedRequest {
  const problems: string[] = [];
  const params: Record<string, unknown> = {};
  const declared = new Map<string, ParameterSpec>();
  for (const spec of operation.parameters) declared.set(`${spec.in}:${spec.name}`, spec);

  const check = (spec: ParameterSpec, text: string | undefined): void => {
    if (text === undefined) {
      if (spec.required) problems.push(`${spec.in} parameter "${spec.name}" is required`);
      return;
    }
    const value = coerceParameter(text, spec.schema);
    const errors = validator.validate(`${operation.method} ${operation.path} ${spec.in}:${spec.name}`, spec.schema, value);
    for (const e of errors) problems.push(`${spec.in} parameter "${spec.name}" = ${JSON.stringify(text)}: ${e.replace(/^\(root\): /, "")}`);
    params[spec.name] = value;
  };

  for (const spec of operation.parameters) {
    if (spec.in === "path") check(spec, pathParams[spec.name]);
    else if (spec.in === "query") {
      const all = query.getAll(spec.name);
      if (all.length > 1) problems.push(`query parameter "${spec.name}" is given ${all.length} times`);
      check(spec, all[0] ?? undefined);
    }
  }
  for (const name of new Set(query.keys())) {
    if (!declared.has(`query:${name}`)) problems.push(`query parameter "${name}" is not a parameter of ${operation.operationId}`);
  }

  if (operation.rawBody) {
    problems.push(...rawBodyProblems(operation.rawBody, body));
  } else if (operation.body) {
    if (!body.present) {
      if (operation.body.required) problems.push("a JSON request body is required");
    } else {
      for (const e of validator.validate(`${operation.method} ${operation.path} body`, operation.body.schema, body.value)) problems.push(`body ${e}`);
    }
  } else if (body.present) {
    problems.push(`${operation.operationId} takes no request body`);
  }
  return { params, body: body.value, problems };
}
