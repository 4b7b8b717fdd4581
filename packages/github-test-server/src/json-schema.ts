/**
 * OpenAPI 3.0 schema objects to JSON Schema (draft-07) for Ajv:
 * `nullable: true` becomes a `null` type (or an `anyOf` with `null` when the
 * schema has no `type`, e.g. an `allOf`), boolean `exclusiveMinimum`/
 * `exclusiveMaximum` become numbers, annotations and `x-` extensions are
 * dropped, and `#/components/schemas/X` references point into the schema
 * registered under {@link COMPONENTS_ID}.
 */
import { isObject, type JsonObject } from "./description.js";

export const COMPONENTS_ID = "github-openapi-components";

const SCHEMA_MAP_KEYWORDS = new Set(["properties"]);
const SCHEMA_LIST_KEYWORDS = new Set(["allOf", "anyOf", "oneOf"]);
const SCHEMA_KEYWORDS = new Set(["items", "not", "additionalProperties"]);
const VALUE_KEYWORDS = new Set([
  "type",
  "enum",
  "const",
  "required",
  "format",
  "minimum",
  "maximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
]);

/** The JSON Schema reference for a component schema name. */
export function componentRef(name: string): string {
  return `${COMPONENTS_ID}#/definitions/${encodeURIComponent(name).replace(/%2F/gi, "~1")}`;
}

/** Converts one OpenAPI 3.0 schema object (and everything inside it). */
export function toJsonSchema(schema: unknown): unknown {
  if (typeof schema === "boolean") return schema;
  if (!isObject(schema)) return {};
  if (typeof schema.$ref === "string") {
    const match = /^#\/components\/schemas\/(.+)$/.exec(schema.$ref);
    if (!match) throw new Error(`unsupported schema $ref ${schema.$ref}`);
    // In OpenAPI 3.0, keywords beside $ref are ignored.
    return { $ref: componentRef(match[1]!) };
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (SCHEMA_MAP_KEYWORDS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, toJsonSchema(sub)]));
    } else if (SCHEMA_LIST_KEYWORDS.has(key) && Array.isArray(value)) {
      out[key] = value.map(toJsonSchema);
    } else if (SCHEMA_KEYWORDS.has(key)) {
      out[key] = typeof value === "boolean" ? value : toJsonSchema(value);
    } else if (VALUE_KEYWORDS.has(key)) {
      out[key] = value;
    }
  }
  if (schema.exclusiveMinimum === true && typeof schema.minimum === "number") {
    out.exclusiveMinimum = schema.minimum;
    delete out.minimum;
  }
  if (schema.exclusiveMaximum === true && typeof schema.maximum === "number") {
    out.exclusiveMaximum = schema.maximum;
    delete out.maximum;
  }
  if (schema.nullable === true) return nullable(out);
  return out;
}

function nullable(schema: Record<string, unknown>): Record<string, unknown> {
  if (typeof schema.type === "string" && !schema.allOf && !schema.anyOf && !schema.oneOf) {
    const result: Record<string, unknown> = { ...schema, type: [schema.type, "null"] };
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) result.enum = [...schema.enum, null];
    return result;
  }
  return { anyOf: [schema, { type: "null" }] };
}

/** Converts every component schema into one document Ajv can register. */
export function componentsDocument(schemas: JsonObject): JsonObject {
  const definitions: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(schemas)) definitions[name] = toJsonSchema(schema);
  return { $id: COMPONENTS_ID, definitions };
}
