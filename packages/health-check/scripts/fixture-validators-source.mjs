// The source of src/generated/fixture-validators.ts: the fixture schemas of
// src/fixture-schema.ts (read from dist/: build first), compiled with the
// options their validators have always had — strict, the first error only
// (a fixture is refused on its first problem).
import { standaloneModule } from "@slmops/schemas/standalone";

export const REGENERATE = "run `npm run build && npm run generate` in packages/health-check";

export function fixtureValidatorsSource({ DECODER_SCHEMA, GENERIC_SCHEMA }) {
  return standaloneModule({
    validators: { decoder: DECODER_SCHEMA, generic: GENERIC_SCHEMA },
    options: { strict: true, allErrors: false },
    from: "src/fixture-schema.ts by scripts/compile-schemas.mjs",
    regenerate: REGENERATE,
  });
}
