/**
 * Compiles JSON Schemas derived from the description with Ajv (one instance,
 * the component schemas registered once) and reports failures as short
 * `path: message` lines.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import * as addFormatsModule from "ajv-formats";
import type { OpenApiDocument } from "./description.js";
import { componentsDocument } from "./json-schema.js";

// ajv-formats is CommonJS; its default export arrives as `default` under NodeNext.
const addFormats = addFormatsModule.default as unknown as (ajv: Ajv) => Ajv;

export class SchemaValidator {
  readonly #ajv: Ajv;
  readonly #cache = new Map<string, ValidateFunction>();

  constructor(doc: OpenApiDocument) {
    this.#ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, logger: false });
    addFormats(this.#ajv);
    // Formats of GitHub's own that carry no checkable rule.
    for (const name of ["repo.nwo", "timestamp"]) this.#ajv.addFormat(name, true);
    this.#ajv.addSchema(componentsDocument(doc.components.schemas ?? {}) as object);
  }

  /** Validates `value` against `schema` (compiled once per `key`). */
  validate(key: string, schema: unknown, value: unknown): string[] {
    let fn = this.#cache.get(key);
    if (!fn) {
      fn = this.#ajv.compile(schema as object);
      this.#cache.set(key, fn);
    }
    return fn(value) ? [] : formatErrors(fn.errors ?? []);
  }
}

/** `/output/annotations: must NOT have more than 50 items`, at most 20 lines. */
export function formatErrors(errors: readonly ErrorObject[]): string[] {
  const lines = errors.map((e) => {
    const where = e.instancePath === "" ? "(root)" : e.instancePath;
    const extra = e.keyword === "additionalProperties" ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : e.keyword === "enum" ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})` : "";
    return `${where}: ${e.message ?? e.keyword}${extra}`;
  });
  return [...new Set(lines)].slice(0, 20);
}
