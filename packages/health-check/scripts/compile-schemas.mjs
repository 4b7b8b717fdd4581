#!/usr/bin/env node
// Compiles the fixture schemas (src/fixture-schema.ts, built into dist/) into
// src/generated/fixture-validators.ts with Ajv's standalone code, so a health
// check does not compile them first. fixture.test.ts fails when the committed
// module no longer matches the schemas.
//
//   npm run build && node scripts/compile-schemas.mjs           rewrite the module
//   npm run build && node scripts/compile-schemas.mjs --check   exit 1 if it is out of date
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeGenerated } from "@slmops/schemas/standalone";
import * as schemas from "../dist/fixture-schema.js";
import { fixtureValidatorsSource, REGENERATE } from "./fixture-validators-source.mjs";

const out = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "generated", "fixture-validators.ts");
writeGenerated(out, fixtureValidatorsSource(schemas), { check: process.argv.includes("--check"), regenerate: REGENERATE });
