import schema from "@slmops/schemas/slmops.schema.json" with { type: "json" };

/** The slmops.yaml JSON Schema (2020-12), as shipped in `@slmops/schemas`. */
export const manifestSchema: object = schema;
