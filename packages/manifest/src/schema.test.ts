import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DURATION_PATTERN, PERCENTAGE_PATTERN, SIZE_PATTERN } from "@slmops/units";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { manifestSchema } from "./index.js";
import { exampleDir } from "./test-support/repo.js";

type SchemaNode = Record<string, unknown>;

/** Every `properties` entry of every (sub)schema, with its path. */
function properties(node: unknown, path = "#"): [string, SchemaNode][] {
  if (node === null || typeof node !== "object") return [];
  const out: [string, SchemaNode][] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === "properties" && value && typeof value === "object") {
      for (const [name, schema] of Object.entries(value)) out.push([`${path}/properties/${name}`, schema as SchemaNode]);
    }
    if (key !== "examples" && key !== "default") out.push(...properties(value, `${path}/${key}`));
  }
  return out;
}

/** Every object schema (`type: object` with `properties`). */
function objectSchemas(node: unknown, path = "#"): [string, SchemaNode][] {
  if (node === null || typeof node !== "object" || Array.isArray(node)) return [];
  const out: [string, SchemaNode][] = [];
  const schema = node as SchemaNode;
  if (schema.type === "object") out.push([path, schema]);
  for (const [key, value] of Object.entries(schema)) {
    if (key === "examples" || key === "default") continue;
    if (value && typeof value === "object") {
      if (Array.isArray(value)) value.forEach((v, i) => out.push(...objectSchemas(v, `${path}/${key}/${i}`)));
      else out.push(...objectSchemas(value, `${path}/${key}`));
    }
  }
  return out;
}

describe("slmops.schema.json", () => {
  const schema = manifestSchema as SchemaNode & { $defs: Record<string, SchemaNode> };

  it("is a JSON Schema 2020-12 document with an id and a title", () => {
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.$id).toMatch(/^https:\/\//u);
    expect(schema.title).toBe("slmops.yaml");
  });

  it("compiles in ajv's strict mode", () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    expect(() => ajv.compile(schema)).not.toThrow();
  });

  it("describes every property", () => {
    const found = properties(schema);
    expect(found.length).toBeGreaterThan(60);
    const undocumented = found.filter(([, s]) => typeof s.description !== "string" || s.description.length < 10).map(([p]) => p);
    expect(undocumented).toEqual([]);
  });

  it("closes every object: no unknown keys anywhere", () => {
    const open = objectSchemas(schema).filter(([, s]) => s.additionalProperties !== false && s.additionalProperties === undefined).map(([p]) => p);
    expect(open).toEqual([]);
  });

  it("writes units with the same patterns the units package parses", () => {
    expect(schema.$defs.size?.pattern).toBe(SIZE_PATTERN);
    expect(schema.$defs.duration?.pattern).toBe(DURATION_PATTERN);
    expect(schema.$defs.percentage?.pattern).toBe(PERCENTAGE_PATTERN);
    expect(schema.$defs.fraction?.pattern).toBe(PERCENTAGE_PATTERN);
  });

  it("accepts the example and its own examples", () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    const validate = ajv.compile(schema);
    const example: unknown = parse(readFileSync(join(exampleDir, "slmops.yaml"), "utf8"));
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    for (const own of schema.examples as unknown[]) expect(validate(own)).toBe(true);
  });

  it("is the schema the ahead-of-time validator was compiled from (else: npm run generate)", async () => {
    // @ts-expect-error: a plain script of this package, not TypeScript
    const { manifestValidatorSource } = (await import("../scripts/manifest-validator-source.mjs")) as { manifestValidatorSource: () => string };
    const committed = readFileSync(join(import.meta.dirname, "generated", "manifest-validator.ts"), "utf8");
    expect(committed === manifestValidatorSource(), "src/generated/manifest-validator.ts is out of date: run npm run generate in packages/manifest").toBe(true);
  });

  it("is the file shipped in @slmops/schemas", () => {
    const shipped: unknown = JSON.parse(readFileSync(join(exampleDir, "../../schemas/slmops.schema.json"), "utf8"));
    expect(manifestSchema).toEqual(shipped);
  });
});
