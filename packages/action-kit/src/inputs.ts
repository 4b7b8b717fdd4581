import { isAbsolute, relative, resolve, sep } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";
import { assertKebabCase } from "./errors.js";

/**
 * Typed readers for action inputs. Names are the kebab-case names declared in
 * `action.yml`; the runner passes each as the `INPUT_<NAME>` environment
 * variable (upper-cased, hyphens kept). A bad value is the user's mistake and
 * raises a {@link ConfigurationError} naming the input and the fix.
 */

/** Raw, trimmed value of an input; `""` when unset. */
export function readRawInput(name: string, env: NodeJS.ProcessEnv = process.env): string {
  assertKebabCase(name);
  return (env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] ?? "").trim();
}

export interface InputOptions {
  /** Fail with a clear message when the input is empty. */
  readonly required?: boolean;
  /** Environment to read from; defaults to `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

function missing(name: string): ConfigurationError {
  return new ConfigurationError(`Input \`${name}\` is required; set it under \`with:\` in the workflow step.`);
}

/** A string input; `fallback` when empty and not required. */
export function getStringInput(name: string, options: InputOptions & { readonly fallback?: string } = {}): string {
  const value = readRawInput(name, options.env);
  if (value === "") {
    if (options.required) throw missing(name);
    return options.fallback ?? "";
  }
  return value;
}

const TRUE = new Set(["true", "True", "TRUE"]);
const FALSE = new Set(["false", "False", "FALSE"]);

/** A boolean input, spelled as YAML 1.2 core booleans (`true`/`false`, any case style GitHub accepts). */
export function getBooleanInput(name: string, options: InputOptions & { readonly fallback?: boolean } = {}): boolean {
  const value = readRawInput(name, options.env);
  if (value === "") {
    if (options.required) throw missing(name);
    return options.fallback ?? false;
  }
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw new ConfigurationError(`Input \`${name}\` must be \`true\` or \`false\`; got \`${value}\`.`);
}

export interface PathInputOptions extends InputOptions {
  readonly fallback?: string;
  /** Directory relative paths are resolved against; defaults to `GITHUB_WORKSPACE`, then the current directory. */
  readonly base?: string;
  /** Refuse a path that resolves outside `base` (default true). */
  readonly withinBase?: boolean;
}

/** A resolved path input. */
export interface PathInput {
  /** Absolute path. */
  readonly absolute: string;
  /** Path relative to the base, with `/` separators (what annotations and people want to see). */
  readonly relative: string;
}

/** The directory the job checked out: `GITHUB_WORKSPACE`, or the current directory outside Actions. */
export function workspaceDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const workspace = env.GITHUB_WORKSPACE;
  return workspace && workspace.trim() !== "" ? resolve(workspace) : process.cwd();
}

/** A path input, resolved against the workspace and kept inside it unless told otherwise. */
export function getPathInput(name: string, options: PathInputOptions = {}): PathInput | undefined {
  const value = getStringInput(name, { ...options, fallback: options.fallback ?? "" });
  if (value === "") return undefined;
  if (value.includes("\0")) throw new ConfigurationError(`Input \`${name}\` contains a NUL character.`);
  const base = resolve(options.base ?? workspaceDirectory(options.env ?? process.env));
  const absolute = resolve(base, value);
  const rel = relative(base, absolute);
  const outside = rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  if (outside && options.withinBase !== false) {
    throw new ConfigurationError(
      `Input \`${name}\` (\`${value}\`) points outside the workspace \`${base}\`; use a path inside the repository.`,
    );
  }
  return { absolute, relative: rel === "" ? "." : rel.split(sep).join("/") };
}

/**
 * A list input: either a JSON array of strings (`["a", "b"]`) or one item per
 * line and/or comma. Blank items are dropped.
 */
export function getListInput(name: string, options: InputOptions = {}): string[] {
  const value = readRawInput(name, options.env);
  if (value === "") {
    if (options.required) throw missing(name);
    return [];
  }
  if (value.startsWith("[")) {
    const parsed = parseJson(name, value);
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
      throw new ConfigurationError(`Input \`${name}\` must be a JSON array of strings, e.g. \`["a", "b"]\`.`);
    }
    return parsed.map((item) => item.trim()).filter((item) => item !== "");
  }
  return value
    .split(/[\r\n,]+/)
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** A JSON input, parsed; its shape is for the caller to check. */
export function getJsonInput(name: string, options: InputOptions = {}): unknown {
  const value = readRawInput(name, options.env);
  if (value === "") {
    if (options.required) throw missing(name);
    return undefined;
  }
  return parseJson(name, value);
}

function parseJson(name: string, value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigurationError(`Input \`${name}\` is not valid JSON: ${reason}.`, { cause: error });
  }
}

/** What {@link getInput} reads: the input's type and its options. */
export type InputSpec =
  | ({ readonly type: "string"; readonly fallback?: string } & InputOptions)
  | ({ readonly type: "boolean"; readonly fallback?: boolean } & InputOptions)
  | ({ readonly type: "path" } & PathInputOptions)
  | ({ readonly type: "list" } & InputOptions)
  | ({ readonly type: "json" } & InputOptions);

/** The value {@link getInput} returns for a spec. */
export type InputValue<S extends InputSpec> = S extends { type: "string" }
  ? string
  : S extends { type: "boolean" }
    ? boolean
    : S extends { type: "path" }
      ? PathInput | undefined
      : S extends { type: "list" }
        ? string[]
        : unknown;

/**
 * Reads one input by type: `getInput("fail-on-invalid", { type: "boolean", fallback: true })`.
 * The same as calling the matching `get…Input` function.
 */
export function getInput<S extends InputSpec>(name: string, spec: S): InputValue<S> {
  switch (spec.type) {
    case "string":
      return getStringInput(name, spec) as InputValue<S>;
    case "boolean":
      return getBooleanInput(name, spec) as InputValue<S>;
    case "path":
      return getPathInput(name, spec) as InputValue<S>;
    case "list":
      return getListInput(name, spec) as InputValue<S>;
    case "json":
      return getJsonInput(name, spec) as InputValue<S>;
  }
}
