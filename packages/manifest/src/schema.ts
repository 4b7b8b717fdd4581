import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** The slmops.yaml JSON Schema (2020-12), as shipped in `@slmops/schemas`. */
export const manifestSchema: object = require("@slmops/schemas/slmops.schema.json") as object;
