/**
 * GitHub's published OpenAPI description of api.github.com, from the pinned
 * `@octokit/openapi` package. Read once per process (it is ~13 MB of JSON).
 * Only the not-dereferenced file is read; `$ref`s are followed on demand.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** The parts of an OpenAPI 3.0 document this server reads. */
export interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly components: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

export type JsonObject = { readonly [key: string]: unknown };

let cached: OpenApiDocument | undefined;

/** Path of the api.github.com description inside the installed package. */
export function descriptionPath(): string {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve("@octokit/openapi/package.json");
  return join(dirname(packageJson), "generated", "api.github.com.json");
}

/** The api.github.com description, parsed once. */
export function loadDescription(): OpenApiDocument {
  if (!cached) {
    const doc = JSON.parse(readFileSync(descriptionPath(), "utf8")) as OpenApiDocument;
    if (typeof doc.openapi !== "string" || !doc.openapi.startsWith("3.0")) {
      throw new Error(`expected an OpenAPI 3.0 description at ${descriptionPath()}, found version ${String(doc.openapi)}`);
    }
    cached = doc;
  }
  return cached;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Follows a local `$ref` (`#/components/...`), repeatedly, to the object it names. */
export function resolveRef<T = JsonObject>(doc: OpenApiDocument, value: unknown): T {
  let current = value;
  for (let depth = 0; isObject(current) && typeof current.$ref === "string"; depth++) {
    if (depth > 32) throw new Error(`$ref chain too long at ${current.$ref}`);
    const ref = current.$ref;
    if (!ref.startsWith("#/")) throw new Error(`unsupported $ref ${ref}`);
    let target: unknown = doc;
    for (const raw of ref.slice(2).split("/")) {
      const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      target = isObject(target) ? target[part] : undefined;
    }
    if (target === undefined) throw new Error(`unresolvable $ref ${ref}`);
    current = target;
  }
  return current as T;
}
