/**
 * Checks one request against its operation: path and query parameters
 * (converted from text by their schema's type, then validated), no unknown
 * query parameters, and the JSON body against the request body schema.
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
  body: { readonly present: boolean; readonly value: unknown },
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

  if (operation.body) {
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
