/**
 * The operations of the description: matching a request's method and path to
 * one, and the parameters, request body and responses it declares.
 */
import { isObject, resolveRef, type JsonObject, type OpenApiDocument } from "./description.js";
import { toJsonSchema } from "./json-schema.js";

export interface ParameterSpec {
  readonly name: string;
  readonly in: "path" | "query" | "header" | "cookie";
  readonly required: boolean;
  /** JSON Schema (converted). */
  readonly schema: unknown;
}

export interface Operation {
  readonly operationId: string;
  readonly method: string;
  /** The path template, e.g. `/repos/{owner}/{repo}/check-runs`. */
  readonly path: string;
  readonly parameters: readonly ParameterSpec[];
  /** JSON Schema of the JSON request body, when the operation takes one. */
  readonly body?: { readonly required: boolean; readonly schema: unknown };
  /**
   * The media types of a request body that is not JSON (a release asset
   * upload's raw bytes), when the operation takes one: such a body is passed
   * to the handler as bytes, unparsed.
   */
  readonly rawBody?: { readonly required: boolean; readonly mediaTypes: readonly string[] };
  /** The raw OpenAPI operation, for responses and examples. */
  readonly raw: JsonObject;
}

export interface RouteMatch {
  readonly operation: Operation;
  readonly pathParams: Readonly<Record<string, string>>;
}

interface Route {
  readonly method: string;
  readonly template: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  /** Literal segments count: more literal routes win over templated ones. */
  readonly literals: number;
  /** Whether a parameter may span segments: such routes lose ties to those whose parameters may not. */
  readonly greedy: boolean;
}

const METHODS = new Set(["get", "post", "put", "patch", "delete", "head", "options"]);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `multiSegment`: path parameters that may span segments (`x-multi-segment`, e.g. a tag or branch with a slash). */
function compileTemplate(template: string, multiSegment: ReadonlySet<string>): { pattern: RegExp; names: string[]; literals: number; greedy: boolean } {
  const names: string[] = [];
  let literals = 0;
  const source = template
    .split("/")
    .map((segment) => {
      const parts = segment.split(/(\{[^}]+\})/).filter((p) => p !== "");
      if (parts.every((p) => !p.startsWith("{"))) literals++;
      return parts
        .map((p) => {
          if (p.startsWith("{") && p.endsWith("}")) {
            const name = p.slice(1, -1);
            names.push(name);
            return multiSegment.has(name) ? "(.+)" : "([^/]+)";
          }
          return escapeRegExp(p);
        })
        .join("");
    })
    .join("/");
  return { pattern: new RegExp(`^${source}$`), names, literals, greedy: names.some((n) => multiSegment.has(n)) };
}

/** An operation's parameters, its path item's first, `$ref`s resolved. */
function declaredParameters(doc: OpenApiDocument, item: JsonObject, raw: JsonObject): JsonObject[] {
  return [...(Array.isArray(item.parameters) ? item.parameters : []), ...(Array.isArray(raw.parameters) ? raw.parameters : [])].map((p) => resolveRef(doc, p));
}

/** Every operation of the description, indexed for matching. */
export class OperationIndex {
  readonly #doc: OpenApiDocument;
  readonly #routes: Route[] = [];
  readonly #operations = new Map<string, Operation>();

  constructor(doc: OpenApiDocument) {
    this.#doc = doc;
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) {
        if (!METHODS.has(method)) continue;
        const declared = declaredParameters(doc, item, item[method] as JsonObject);
        const multiSegment = new Set(declared.filter((p) => p.in === "path" && p["x-multi-segment"] === true).map((p) => String(p.name)));
        this.#routes.push({ method: method.toUpperCase(), template, ...compileTemplate(template, multiSegment) });
      }
    }
    this.#routes.sort((a, b) => b.literals - a.literals || Number(a.greedy) - Number(b.greedy) || a.template.localeCompare(b.template));
  }

  /** The operation for a method and a decoded path, or undefined. */
  match(method: string, path: string): RouteMatch | undefined {
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(path);
      if (!m) continue;
      const pathParams: Record<string, string> = {};
      route.names.forEach((name, i) => {
        pathParams[name] = decodeURIComponent(m[i + 1]!);
      });
      return { operation: this.#operation(route), pathParams };
    }
    return undefined;
  }

  /** Whether any operation has this path (for 405-like diagnostics). */
  methodsFor(path: string): string[] {
    return this.#routes.filter((r) => r.pattern.test(path)).map((r) => r.method);
  }

  #operation(route: Route): Operation {
    const key = `${route.method} ${route.template}`;
    const existing = this.#operations.get(key);
    if (existing) return existing;
    const item = this.#doc.paths[route.template]!;
    const raw = item[route.method.toLowerCase()] as JsonObject;
    const parameters = declaredParameters(this.#doc, item, raw).map((param) => ({
      name: String(param.name),
      in: param.in as ParameterSpec["in"],
      required: param.required === true || param.in === "path",
      schema: toJsonSchema(param.schema),
    }));
    let body: Operation["body"];
    let rawBody: Operation["rawBody"];
    if (raw.requestBody !== undefined) {
      const requestBody = resolveRef(this.#doc, raw.requestBody);
      const content = isObject(requestBody.content) ? requestBody.content : {};
      const json = content["application/json"];
      const required = requestBody.required === true;
      if (isObject(json)) body = { required, schema: toJsonSchema(json.schema) };
      else if (Object.keys(content).length > 0) rawBody = { required, mediaTypes: Object.keys(content) };
    }
    const operation: Operation = {
      operationId: String(raw.operationId),
      method: route.method,
      path: route.template,
      parameters,
      ...(body ? { body } : {}),
      ...(rawBody ? { rawBody } : {}),
      raw,
    };
    this.#operations.set(key, operation);
    return operation;
  }
}
