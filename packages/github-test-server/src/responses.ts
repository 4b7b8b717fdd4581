/**
 * Response bodies in the shapes the description defines: start from the
 * operation's own example for that status and lay the server's state over it.
 */
import { isObject, resolveRef, type JsonObject, type OpenApiDocument } from "./description.js";
import type { Operation } from "./operations.js";
import { toJsonSchema } from "./json-schema.js";

/** The JSON response declared for an operation and status, if any. */
function jsonResponse(doc: OpenApiDocument, operation: Operation, status: number): JsonObject | undefined {
  const responses = isObject(operation.raw.responses) ? operation.raw.responses : {};
  const declared = responses[String(status)];
  if (declared === undefined) return undefined;
  const response = resolveRef(doc, declared);
  const content = isObject(response.content) ? response.content : undefined;
  const json = content?.["application/json"];
  return isObject(json) ? json : undefined;
}

/** Whether the operation declares this status at all. */
export function declaresStatus(operation: Operation, status: number): boolean {
  return isObject(operation.raw.responses) && String(status) in operation.raw.responses;
}

/** The converted JSON Schema of the response body for a status, if declared. */
export function responseSchema(doc: OpenApiDocument, operation: Operation, status: number): unknown {
  const json = jsonResponse(doc, operation, status);
  return json && json.schema !== undefined ? toJsonSchema(json.schema) : undefined;
}

/** A deep copy of the first example of the response for a status. */
export function exampleBody(doc: OpenApiDocument, operation: Operation, status: number): unknown {
  const json = jsonResponse(doc, operation, status);
  if (!json) throw new Error(`${operation.operationId} declares no JSON response for status ${status}`);
  if (json.example !== undefined) return structuredClone(json.example);
  const examples = isObject(json.examples) ? Object.values(json.examples) : [];
  if (examples.length === 0) throw new Error(`${operation.operationId} has no example for status ${status}`);
  const example = resolveRef(doc, examples[0]);
  return structuredClone(example.value);
}

/** The template for one item of a list response (top-level array or `{ key: [...] }`). */
export function exampleItem(doc: OpenApiDocument, operation: Operation, status: number, key?: string): JsonObject {
  const body = exampleBody(doc, operation, status);
  const list = key ? (isObject(body) ? body[key] : undefined) : body;
  if (!Array.isArray(list) || !isObject(list[0])) throw new Error(`${operation.operationId} has no list example${key ? ` under "${key}"` : ""}`);
  return list[0];
}

/** `overlay` laid over `base`: objects merge, anything else replaces. */
export function overlay<T>(base: unknown, top: T): T {
  if (isObject(base) && isObject(top)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(top)) out[k] = k in base ? overlay(base[k], v) : v;
    return out as T;
  }
  return top;
}
