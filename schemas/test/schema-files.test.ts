/**
 * Every JSON Schema shipped in this package compiles as JSON Schema 2020-12
 * under ajv's strict mode, and every property it declares carries a
 * description (what editors show as help).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, test } from "vitest";
import { schemasDir } from "./support/paths.js";
import { propertyDeclarations, subschemas, undescribedProperties, type SchemaNode } from "./support/schema-walk.js";

const schemaFiles = readdirSync(schemasDir)
  .filter((name) => name.endsWith(".schema.json"))
  .sort();

function loadSchema(name: string): SchemaNode {
  return JSON.parse(readFileSync(path.join(schemasDir, name), "utf8")) as SchemaNode;
}

test("the package ships slmops.schema.json", () => {
  expect(schemaFiles).toContain("slmops.schema.json");
});

describe.each(schemaFiles)("%s", (name) => {
  test("declares and compiles as JSON Schema 2020-12 in ajv strict mode", () => {
    const schema = loadSchema(name);
    expect(schema).toMatchObject({ $schema: "https://json-schema.org/draft/2020-12/schema" });
    // Strict mode rejects unknown keywords, ignored keywords and ambiguous
    // types; a union `type: [number, string]` is plain 2020-12 and allowed.
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
    expect(() => ajv.compile(schema as object)).not.toThrow();
  });

  test("every example it gives is valid against the subschema that gives it", () => {
    const schema = loadSchema(name);
    const id = typeof schema === "object" && typeof schema.$id === "string" ? schema.$id : undefined;
    expect(id, "$id of the schema").toBeDefined();
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
    ajv.addSchema(schema as object);
    const invalid: string[] = [];
    for (const { pointer, schema: node } of subschemas(schema)) {
      const examples = typeof node === "object" ? node.examples : undefined;
      if (!Array.isArray(examples)) continue;
      const validate = ajv.getSchema(`${id}#${pointer}`);
      if (!validate) throw new Error(`ajv cannot find ${pointer}`);
      for (const example of examples) {
        if (!validate(example)) invalid.push(`${pointer}: ${JSON.stringify(example)}: ${ajv.errorsText(validate.errors)}`);
      }
    }
    expect(invalid).toEqual([]);
  });

  test("has a description on every property", () => {
    const schema = loadSchema(name);
    expect(propertyDeclarations(schema).length).toBeGreaterThan(0);
    expect(undescribedProperties(schema)).toEqual([]);
  });
});

describe("the description walker", () => {
  const schema: SchemaNode = {
    type: "object",
    properties: {
      described: { description: "Has one.", type: "string" },
      bare: { type: "string" },
      nested: {
        description: "An object.",
        type: "object",
        properties: { "a/b": { type: "integer" } },
      },
      list: { description: "A list.", type: "array", items: { $ref: "#/$defs/item" } },
      viaRef: { $ref: "#/$defs/item" },
      choice: { description: "One of two.", oneOf: [{ properties: { left: { type: "string" } } }, { type: "null" }] },
    },
    patternProperties: { "^x-": { type: "string" } },
    $defs: {
      item: {
        description: "An item.",
        type: "object",
        properties: { id: { description: "Id.", type: "string" }, size: { type: "string" } },
      },
    },
  };

  test("finds properties under properties, items, combinators, patternProperties and $defs", () => {
    expect(propertyDeclarations(schema).map((declaration) => declaration.pointer)).toEqual([
      "/properties/described",
      "/properties/bare",
      "/properties/nested",
      "/properties/nested/properties/a~1b",
      "/properties/list",
      "/properties/viaRef",
      "/properties/choice",
      "/properties/choice/oneOf/0/properties/left",
      "/patternProperties/^x-",
      "/$defs/item/properties/id",
      "/$defs/item/properties/size",
    ]);
  });

  test("reports each property without a description of its own", () => {
    expect(undescribedProperties(schema)).toEqual([
      "/properties/bare",
      "/properties/nested/properties/a~1b",
      "/properties/viaRef",
      "/properties/choice/oneOf/0/properties/left",
      "/patternProperties/^x-",
      "/$defs/item/properties/size",
    ]);
  });
});
