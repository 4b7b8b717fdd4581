/**
 * Walks a JSON Schema (2020-12) document: every subschema, and every property
 * declared under `properties` / `patternProperties`, with its JSON Pointer.
 */

/** A JSON Schema node: an object schema or a boolean schema. */
export type SchemaNode = boolean | { [keyword: string]: unknown };

/** A property declaration found while walking. */
export interface PropertyDeclaration {
  /** JSON Pointer of the property's schema, e.g. `/properties/devices/items/properties/id`. */
  pointer: string;
  /** Property name (or pattern, for `patternProperties`). */
  name: string;
  schema: SchemaNode;
}

const SINGLE = ["items", "additionalProperties", "unevaluatedProperties", "unevaluatedItems", "contains", "propertyNames", "not", "if", "then", "else", "contentSchema"];
const ARRAYS = ["prefixItems", "allOf", "anyOf", "oneOf"];
const MAPS = ["$defs", "definitions", "dependentSchemas"];
const PROPERTY_MAPS = ["properties", "patternProperties"];

function escapePointer(token: string): string {
  return token.replace(/~/g, "~0").replace(/\//g, "~1");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A subschema and its JSON Pointer inside the document. */
export interface Subschema {
  pointer: string;
  schema: SchemaNode;
  /** Set when the subschema declares a property: its name (or pattern). */
  property?: string;
}

/**
 * Every subschema of `schema`, the root included, depth first in document
 * order: through properties, items, combinators, conditionals and `$defs`.
 * Keywords whose values are data (`enum`, `const`, `default`, `examples`) are
 * not entered.
 */
export function subschemas(schema: SchemaNode): Subschema[] {
  const found: Subschema[] = [];
  const visit = (node: unknown, pointer: string, property?: string): void => {
    if (typeof node !== "boolean" && !isObject(node)) return;
    found.push(property === undefined ? { pointer, schema: node } : { pointer, schema: node, property });
    if (!isObject(node)) return;
    for (const keyword of PROPERTY_MAPS) {
      const map = node[keyword];
      if (!isObject(map)) continue;
      for (const [name, child] of Object.entries(map)) visit(child, `${pointer}/${keyword}/${escapePointer(name)}`, name);
    }
    for (const keyword of SINGLE) {
      if (keyword in node) visit(node[keyword], `${pointer}/${keyword}`);
    }
    for (const keyword of ARRAYS) {
      const list = node[keyword];
      if (Array.isArray(list)) list.forEach((child, index) => visit(child, `${pointer}/${keyword}/${index}`));
    }
    for (const keyword of MAPS) {
      const map = node[keyword];
      if (!isObject(map)) continue;
      for (const [name, child] of Object.entries(map)) visit(child, `${pointer}/${keyword}/${escapePointer(name)}`);
    }
  };
  visit(schema, "");
  return found;
}

/** Every property declaration in `schema` (under `properties` or `patternProperties`), in document order. */
export function propertyDeclarations(schema: SchemaNode): PropertyDeclaration[] {
  return subschemas(schema).flatMap(({ pointer, schema: node, property }) =>
    property === undefined ? [] : [{ pointer, name: property, schema: node }],
  );
}

/** Resolves a local JSON Pointer reference (`#/$defs/x`) inside `root`. */
export function resolveLocalRef(root: SchemaNode, ref: string): SchemaNode | undefined {
  if (!ref.startsWith("#")) return undefined;
  let node: unknown = root;
  const pointer = ref.slice(1);
  if (pointer === "") return root;
  for (const raw of pointer.split("/").slice(1)) {
    const token = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (!isObject(node) && !Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[token];
  }
  return node === undefined ? undefined : (node as SchemaNode);
}

/**
 * Follows `$ref` chains from `node` (local references only), returning the
 * first schema along the chain that satisfies `pick`, or undefined.
 */
function alongRefs<T>(root: SchemaNode, node: SchemaNode, pick: (schema: Record<string, unknown>) => T | undefined): T | undefined {
  const seen = new Set<SchemaNode>();
  let current: SchemaNode | undefined = node;
  while (isObject(current) && !seen.has(current)) {
    seen.add(current);
    const picked = pick(current);
    if (picked !== undefined) return picked;
    current = typeof current.$ref === "string" ? resolveLocalRef(root, current.$ref) : undefined;
  }
  return undefined;
}

/** The description an editor shows for `node`: its own, else that of the schema its `$ref` points to. */
export function descriptionOf(root: SchemaNode, node: SchemaNode): string | undefined {
  return alongRefs(root, node, (schema) =>
    typeof schema.description === "string" && schema.description.trim() !== "" ? schema.description : undefined,
  );
}

/** `node` with local `$ref`s followed until a schema declaring `properties` is reached. */
export function objectSchemaOf(root: SchemaNode, node: SchemaNode): Record<string, unknown> | undefined {
  return alongRefs(root, node, (schema) => (isObject(schema.properties) ? schema : undefined));
}

/**
 * Pointers of the property declarations without a description of their own.
 * A `$ref` target's description does not count: it says what the type is
 * (`a duration`), not what the property means (`minimum time of a run`).
 */
export function undescribedProperties(schema: SchemaNode): string[] {
  return propertyDeclarations(schema)
    .filter(({ schema: node }) => !isObject(node) || typeof node.description !== "string" || node.description.trim() === "")
    .map((declaration) => declaration.pointer);
}
