/* global console, process */
// Ajv's standalone code for slmops's JSON Schemas, as a TypeScript-compatible
// ES module a package commits (src/generated/…) and imports, so that
// validating a file does not compile its schema in every process (Ajv's
// compiler takes 50–150 ms for these schemas, and loading it more). Each
// package that uses it has a `generate` script writing its module and a test
// that fails when the committed module no longer matches its schema.
//
// Ajv writes `require("ajv/dist/runtime/…")` for its runtime helpers even in
// ESM mode; each becomes an import of the CommonJS module, whose `default`
// export is the helper under Node and bundlers that follow Node
// (module.exports, holding `default`) and under Vite's interop (the
// `default` itself) alike.
import { renameSync, readFileSync, writeFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import standaloneCode from "ajv/dist/standalone/index.js";

/**
 * The module's source: one named export per entry of `validators` (export
 * name → schema), compiled with `options` (Ajv's, e.g. `{ strict: true,
 * allErrors: true }`). `from` names the schemas' source for the header.
 */
export function standaloneModule({ validators, options, from, regenerate }) {
  const ajv = new Ajv2020({ ...options, code: { source: true, esm: true } });
  const refs = {};
  for (const [name, schema] of Object.entries(validators)) {
    ajv.addSchema(schema, `slmops:${name}`);
    refs[name] = `slmops:${name}`;
  }
  let code = standaloneCode.default(ajv, refs);
  const imports = [];
  code = code.replace(/require\("(ajv\/dist\/runtime\/[a-z0-9_]+)"\)/gi, (_, module) => {
    let index = imports.indexOf(module);
    if (index < 0) index = imports.push(module) - 1;
    return `ajvRuntime${index}`;
  });
  if (/\brequire\(/.test(code)) throw new Error("Ajv's standalone code requires a module standalone.mjs does not turn into an import");
  code = code.replace(/^"use strict";/, "");
  return [
    `// Generated from ${from}: do not edit. Ajv's standalone validators, compiled with ${JSON.stringify(options)}; ${regenerate} after changing the schema.`,
    "/* eslint-disable */",
    "// @ts-nocheck",
    ...imports.map((module, index) => `import * as ajvRuntimeModule${index} from "${module}.js";`),
    ...imports.map((_, index) => `const ajvRuntime${index} = { default: typeof ajvRuntimeModule${index}.default === "function" ? ajvRuntimeModule${index}.default : ajvRuntimeModule${index}.default.default };`),
    code,
    "",
  ].join("\n");
}

/** Writes `source` to `file` by one rename, or with `check` exits 1 when the file differs from it. */
export function writeGenerated(file, source, { check = false, regenerate }) {
  if (check) {
    if (readFileSync(file, "utf8") !== source) {
      console.error(`${file} is out of date with its schema; ${regenerate}`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(`${file}.tmp`, source);
  renameSync(`${file}.tmp`, file);
  console.log(`wrote ${file} (${(source.length / 1024).toFixed(0)} KiB)`);
}
