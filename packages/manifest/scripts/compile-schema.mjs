#!/usr/bin/env node
// Compiles the manifest's JSON Schema (@slmops/schemas/slmops.schema.json)
// into src/generated/manifest-validator.ts with Ajv's standalone code, so a
// command that reads slmops.yaml does not compile the schema first (about
// 150 ms, with Ajv's compiler loaded for it). schema.test.ts fails when the
// committed module no longer matches the schema.
//
//   node scripts/compile-schema.mjs           rewrite the module
//   node scripts/compile-schema.mjs --check   exit 1 if it is out of date
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeGenerated } from "@slmops/schemas/standalone";
import { manifestValidatorSource, REGENERATE } from "./manifest-validator-source.mjs";

const out = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "generated", "manifest-validator.ts");
writeGenerated(out, manifestValidatorSource(), { check: process.argv.includes("--check"), regenerate: REGENERATE });
