// The source of src/generated/manifest-validator.ts: the manifest schema,
// compiled with the options its validator has always had — strict (the
// schema itself is checked), every error, each with its schema (`verbose`:
// the messages quote the schema's descriptions).
import { createRequire } from "node:module";
import { standaloneModule } from "@slmops/schemas/standalone";

const schema = createRequire(import.meta.url)("@slmops/schemas/slmops.schema.json");

export const REGENERATE = "run `npm run generate` in packages/manifest";

export function manifestValidatorSource() {
  return standaloneModule({
    validators: { validate: schema },
    options: { strict: true, allErrors: true, allowUnionTypes: true, verbose: true },
    from: "@slmops/schemas/slmops.schema.json by scripts/compile-schema.mjs",
    regenerate: REGENERATE,
  });
}
