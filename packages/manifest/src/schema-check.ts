import type { ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import { tryParseDuration, tryParsePercentage, tryParseSize, type UnitResult } from "@slmops/units";
import { error, type Problem } from "./problem.js";
import { validate as generatedValidator } from "./generated/manifest-validator.js";
import { closest, listOf } from "./suggest.js";
import { describeOwner, describeSubject, ownerPointer, segmentsOf, valueAt } from "./where.js";
import { pointerSegment } from "./tree.js";

/**
 * The manifest schema's validator, compiled ahead of time (Ajv's standalone
 * code, strict: the schema itself was checked when it was made; see
 * scripts/compile-schema.mjs), so reading a manifest does not compile it.
 */
function validator(): ValidateFunction {
  return generatedValidator as ValidateFunction;
}

/** Validates plain data against the manifest schema and explains every violation once. */
export function checkSchema(data: unknown): Problem[] {
  const validate = validator();
  if (validate(data)) return [];
  const errors = validate.errors ?? [];
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const e of collapse(errors)) {
    const problem = explain(e, data);
    if (!problem) continue;
    const key = `${problem.pointer}\u0000${problem.at ?? "value"}\u0000${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}

/** Drops errors that only repeat another one: wrappers (`propertyNames`) and follow-ups on a value whose type is already wrong. */
function collapse(errors: readonly ErrorObject[]): ErrorObject[] {
  const typeWrong = new Set(errors.filter((e) => e.keyword === "type").map((e) => e.instancePath));
  return errors.filter((e) => {
    if (e.keyword === "propertyNames" || e.keyword === "if" || e.keyword === "anyOf" || e.keyword === "oneOf") return false;
    if (e.keyword !== "type" && typeWrong.has(e.instancePath) && !e.propertyName) return false;
    return true;
  });
}

function show(value: unknown): string {
  if (typeof value === "string") return `\`${value.length > 40 ? `${value.slice(0, 37)}...` : value}\``;
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `\`${String(value)}\``;
}

function kindOf(value: unknown): string {
  if (value === null) return "empty (null)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "number") return Number.isFinite(value) ? `the number ${value}` : `\`${String(value)}\` (not a finite number)`;
  if (typeof value === "boolean") return `\`${value}\``;
  return `the text ${show(value)}`;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  object: "a mapping",
  array: "a list",
  string: "text",
  integer: "a whole number",
  number: "a number",
  boolean: "`true` or `false`",
  null: "empty",
};

/** The `$defs` entry an error's keyword belongs to, e.g. `size` for `#/$defs/size/pattern`. */
function definitionOf(e: ErrorObject): string | undefined {
  const match = /^#\/\$defs\/([^/]+)\/[^/]+$/u.exec(e.schemaPath);
  return match?.[1];
}

function explain(e: ErrorObject, data: unknown): Problem | undefined {
  const pointer = e.instancePath;
  const value = valueAt(data, pointer);
  const owner = describeOwner(data, ownerPointer(pointer));
  const subject = describeSubject(pointer);
  const parentSchema = (e.parentSchema ?? {}) as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties": {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys((parentSchema.properties ?? {}) as object);
      const where = pointer === "" ? "at the top level" : `in ${describeOwner(data, pointer)}`;
      const suggestion = closest(key, allowed);
      let hint: string;
      if (key === "<<") hint = "YAML merge keys (`<<`) are not supported; use an alias (`*name`) for a whole value or write the keys out";
      else if (key === "__proto__") hint = `remove it; allowed keys here: ${listOf(allowed)}`;
      else if (suggestion) hint = `did you mean \`${suggestion}\`?`;
      else hint = `allowed keys here: ${listOf(allowed)}`;
      return error("schema/unknown-key", `${pointer}/${pointerSegment(key)}`, `unknown key \`${short(key)}\` ${where}`, hint, "key");
    }
    case "required": {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      const description = (((parentSchema.properties ?? {}) as Record<string, { description?: string }>)[missing] ?? {}).description;
      const where = pointer === "" ? "at the top level" : `in ${describeOwner(data, pointer)}`;
      return error("schema/missing-key", pointer, `missing required key \`${missing}\` ${where}`, description ? `add \`${missing}:\` — ${firstSentence(description)}` : `add \`${missing}:\``);
    }
    case "type": {
      const wanted = ([] as string[]).concat((e.params as { type: string | string[] }).type);
      const definition = definitionOf(e);
      const words = definition === "fraction" ? "a percentage such as `95%` or a number from 0 to 1" : wanted.map((t) => TYPE_WORDS[t] ?? t).join(" or ");
      let hint: string | undefined;
      if (definition === "size") hint = "write a size with its unit, e.g. `512MiB`";
      else if (definition === "duration") hint = "write a duration with its unit, e.g. `40ms` or `10s`";
      else if (definition === "percentage") hint = "write a percentage with its `%` sign, e.g. `5%`";
      else if (wanted.includes("array") && value !== null && typeof value !== "object") hint = `write a list: \`[${String(value)}]\``;
      else if (wanted.includes("string") && (typeof value === "number" || typeof value === "boolean")) hint = `quote it: \`"${String(value)}"\``;
      return error("schema/wrong-type", pointer, `${subject} ${ownerSuffix(owner, pointer)}must be ${words}, not ${kindOf(value)}`, hint);
    }
    case "enum": {
      const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
      const suggestion = typeof value === "string" || typeof value === "number" ? closest(String(value), allowed) : undefined;
      return error(
        "schema/not-allowed",
        pointer,
        `${subject} ${ownerSuffix(owner, pointer)}must be one of ${listOf(allowed)}, not ${show(value)}`,
        suggestion !== undefined && suggestion !== String(value) ? `did you mean \`${suggestion}\`?` : undefined,
      );
    }
    case "const": {
      const wanted = (e.params as { allowedValue: unknown }).allowedValue;
      const hint = pointer === "/version" ? `this slmops reads manifest version ${String(wanted)}; write \`version: ${String(wanted)}\`` : undefined;
      const got = typeof value === typeof wanted ? show(value) : kindOf(value);
      return error("schema/not-allowed", pointer, `${subject} must be the ${typeof wanted === "number" ? "number" : "value"} \`${String(wanted)}\`, not ${got}`, hint);
    }
    case "pattern":
      return explainPattern(e, pointer, value, subject, owner);
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum": {
      const { comparison, limit } = e.params as { comparison: string; limit: number };
      const words: Record<string, string> = { ">=": "at least", "<=": "at most", ">": "greater than", "<": "less than" };
      const definition = definitionOf(e);
      const hint = definition === "fraction" ? "a share is a number from 0 to 1 (`0.95`) or a percentage (`95%`)" : undefined;
      return error("schema/out-of-range", pointer, `${subject} ${ownerSuffix(owner, pointer)}must be ${words[comparison] ?? comparison} ${limit}, not ${show(value)}`, hint);
    }
    case "minItems": {
      const limit = (e.params as { limit: number }).limit;
      return error("schema/too-few-items", pointer, `${subject} ${ownerSuffix(owner, pointer)}must list at least ${limit} item${limit === 1 ? "" : "s"}`);
    }
    case "maxItems": {
      const limit = (e.params as { limit: number }).limit;
      return error("schema/too-many-items", pointer, `${subject} ${ownerSuffix(owner, pointer)}must list at most ${limit} items`);
    }
    case "uniqueItems": {
      const { i, j } = e.params as { i: number; j: number };
      const later = Math.max(i, j);
      const earlier = Math.min(i, j);
      const item = Array.isArray(value) ? value[later] : undefined;
      return error("schema/duplicate-item", `${pointer}/${later}`, `${show(item)} is listed twice in ${subject} ${ownerSuffix(owner, pointer)}`.trimEnd(), `remove it; it is already item ${earlier + 1}`);
    }
    case "minLength":
      return error("schema/empty", pointer, `${subject} ${ownerSuffix(owner, pointer)}must not be empty`);
    case "maxLength": {
      const limit = (e.params as { limit: number }).limit;
      return error("schema/too-long", pointer, `${subject} ${ownerSuffix(owner, pointer)}is longer than ${limit} characters`);
    }
    case "minProperties":
      return explainMinProperties(pointer, subject, owner);
    case "maxProperties": {
      const keys = value !== null && typeof value === "object" ? Object.keys(value) : [];
      return error(
        "schema/one-pass-per-item",
        pointer,
        `a pass item names ${keys.length} passes (${listOf(keys).replace(" or ", " and ")}); it must name exactly one`,
        "put each pass in its own list item: `- quantize: {…}` then `- graph-optimize: {…}`",
      );
    }
    default:
      return error(`schema/${e.keyword}`, pointer, `${subject} ${ownerSuffix(owner, pointer)}${e.message ?? "is not valid"}`);
  }
}

function explainPattern(e: ErrorObject, pointer: string, value: unknown, subject: string, owner: string): Problem {
  const definition = definitionOf(e);
  const text = String(value);
  const propertyName = e.propertyName;
  const unit = (result: UnitResult, code = "unit/invalid"): Problem => {
    if (result.ok) return error("schema/pattern", pointer, `${subject} ${ownerSuffix(owner, pointer)}is not valid: ${show(value)}`);
    return error(code, pointer, `${subject} ${ownerSuffix(owner, pointer)}: ${result.error.message}`.replace(" : ", ": "), result.error.hint);
  };
  switch (definition) {
    case "size":
      return unit(tryParseSize(text));
    case "duration":
      return unit(tryParseDuration(text));
    case "percentage":
    case "fraction":
      return unit(tryParsePercentage(text));
    case "id": {
      if (propertyName !== undefined) {
        return error("schema/invalid-id", `${pointer}/${pointerSegment(propertyName)}`, `${show(propertyName)} is not a valid device id`, idHint(propertyName), "key");
      }
      return error("schema/invalid-id", pointer, `${show(value)} is not a valid id`, idHint(text));
    }
    case "variantRef":
      return error("schema/invalid-reference", pointer, `${show(value)} is not a variant reference`, "write a variant id (`int4`) or `model/variant` (`story-lm/int4`)");
    default: {
      const segments = segmentsOf(pointer);
      if (segments.includes("keep-ops")) return error("schema/pattern", pointer, `${show(value)} is not an ONNX operator type`, "write an operator type such as `LayerNormalization` or `Softmax`");
      if (segments[segments.length - 1] === "channel") return error("schema/pattern", pointer, `the release channel ${show(value)} is not valid`, "use lower-case letters, digits and `-`, starting with a letter, e.g. `stable`");
      return error("schema/pattern", pointer, `${subject} ${ownerSuffix(owner, pointer)}does not have the expected form: ${show(value)}`);
    }
  }
}

function idHint(text: string): string {
  const fixed = text.toLowerCase().replace(/[^a-z0-9._-]+/gu, "-").replace(/^[^a-z0-9]+/u, "");
  const base = "ids use lower-case letters, digits, `-`, `_` and `.`, and start with a letter or digit";
  return fixed && fixed !== text ? `${base}: e.g. \`${fixed}\`` : base;
}

function explainMinProperties(pointer: string, subject: string, owner: string): Problem {
  const segments = segmentsOf(pointer);
  const last = segments[segments.length - 1];
  const parent = segments[segments.length - 2];
  if (parent === "passes") {
    return error("schema/empty", pointer, "a pass item must name one pass", "write one of `quantize`, `convert`, `prune` or `graph-optimize`, e.g. `- quantize: { weights: int8 }`");
  }
  if (last === "require") return error("schema/empty", pointer, `\`require\` of ${owner} states nothing`, "add a metric limit such as `peak-memory: { max: 512MiB }` or a `regression` check");
  if (last === "targets") return error("schema/empty", pointer, "`targets` must map at least one device to a variant", "e.g. `targets: { rpi5: int4 }`");
  if (parent === "require") return error("schema/empty", pointer, `the limit ${subject} of ${owner} gives neither \`max\` nor \`min\``, `e.g. \`${last}: { max: … }\``);
  return error("schema/empty", pointer, `${subject} ${ownerSuffix(owner, pointer)}must not be empty`);
}

/** "of device `rpi5` " — or nothing when the owner adds nothing (top-level keys). */
function ownerSuffix(owner: string, pointer: string): string {
  if (owner === "the manifest" || segmentsOf(pointer).length <= 1) return "";
  return `of ${owner} `;
}

function firstSentence(text: string): string {
  const match = /(?<!e\.g|i\.e)\.\s+(?=[A-Z])/u.exec(text);
  return match ? text.slice(0, match.index + 1) : text;
}

function short(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
