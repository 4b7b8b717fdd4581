/**
 * The health-check fixture: what it holds, its bounds, and its validation.
 *
 * A fixture travels in a release's signed TUF metadata, which is canonical
 * JSON: it has no floating-point numbers. So every non-integer value of a
 * fixture is written as a decimal string (`"-0.0123"`, `"1.5e-7"`) from the
 * start, and a fixture is the same JSON before and after it is signed.
 * Integers (token ids, dimensions, indices) stay numbers. A reader also
 * accepts a plain finite JSON number where a decimal string is expected.
 *
 * Signed is not trusted: the device validates the shape and bounds every
 * size before it runs anything ({@link parseHealthCheck}).
 */
import type { ErrorObject, ValidateFunction } from "ajv";
import { ConfigurationError, terminalText } from "@slmops/diagnostics";
import { HEALTH_CHECK_LIMITS, HEALTH_CHECK_VERSION } from "./fixture-schema.js";
import { decoder as decoderValidator, generic as genericValidator } from "./generated/fixture-validators.js";

export { HEALTH_CHECK_VERSION } from "./fixture-schema.js";

/** A number as the shortest decimal string that reads back as it (`Number(s)`). */
export type Decimal = string;

/**
 * A decoder's fixture. The device feeds `inputs.prefill` in one call with an
 * empty KV cache, then each `inputs.decode` token in its own call with the
 * cache (as it generates), and compares the last call's logits.
 */
export type DecoderHealthCheck = {
  readonly version: 1;
  readonly kind: "decoder";
  readonly inputs: {
    readonly prefill: readonly number[];
    readonly decode: readonly number[];
  };
  readonly expected: {
    /** The logits' last dimension. */
    readonly vocab: number;
    /** The top token ids of the last position, highest logit first (ties: lowest id first). */
    readonly top: readonly number[];
    /** logit(top[0]) − logit(top[1]): how safely the top-1 can be required. */
    readonly margin: Decimal;
    /** The spread of the last position's logits (their standard deviation over the vocabulary): the tolerance's unit. */
    readonly scale: Decimal;
    /** The fingerprint: these token ids' logits (the top ids, then fixed ids spread over the vocabulary). */
    readonly ids: readonly number[];
    readonly logits: readonly Decimal[];
  };
  readonly tolerance: Tolerance;
};

/** Element types a generic fixture can feed and fingerprint. */
export type FixtureElementType =
  | "float32"
  | "float16"
  | "float64"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "bool";

/**
 * One input tensor, every value written out: floats as decimals, float16 as
 * its IEEE 754 bit pattern (an integer), integers as integers, bool as 0 or 1.
 */
export type FixtureInput = {
  readonly name: string;
  readonly type: FixtureElementType;
  readonly dims: readonly number[];
  readonly values: readonly (number | Decimal)[];
};

/** One output's fingerprint: its shape and its values at a few flat (row-major) indices. */
export type FixtureOutput = {
  readonly name: string;
  readonly type: FixtureElementType;
  readonly dims: readonly number[];
  readonly indices: readonly number[];
  /** Floats (float16 decoded) as decimals, integers as integers. */
  readonly values: readonly (number | Decimal)[];
  /** Float outputs: the standard deviation over the whole output, the tolerance's unit; `"0"` for integer outputs, which must match exactly. */
  readonly scale: Decimal;
};

/** A fixture for any other model (encoders included): its inputs written out, and its outputs' fingerprints. */
export type GenericHealthCheck = {
  readonly version: 1;
  readonly kind: "generic";
  readonly inputs: readonly FixtureInput[];
  readonly expected: readonly FixtureOutput[];
  readonly tolerance: Tolerance;
};

/**
 * How far the device's values may be from the fixture's, in units of the
 * recorded scale: the root mean square of the differences over the
 * fingerprint at most `rms`, and every single difference at most `max`.
 */
export type Tolerance = {
  readonly rms: Decimal;
  readonly max: Decimal;
};

export type HealthCheck = DecoderHealthCheck | GenericHealthCheck;

export { HEALTH_CHECK_LIMITS } from "./fixture-schema.js";
const L = HEALTH_CHECK_LIMITS;

/** A health-check fixture that is not one this package can run: its message says what is wrong, and where. */
export class InvalidHealthCheckError extends ConfigurationError {}

/** The fixture schemas' validators, compiled ahead of time (see fixture-schema.ts). */
const validators = { decoder: decoderValidator as unknown as ValidateFunction, generic: genericValidator as unknown as ValidateFunction };

function schemaErrors(kind: "decoder" | "generic", value: unknown): ErrorObject[] {
  const validator = validators[kind];
  return validator(value) ? [] : [...(validator.errors ?? [])];
}

function refuse(reason: string): never {
  throw new InvalidHealthCheckError(`the release's health-check fixture is invalid: ${reason}; the release cannot be health-checked, rebuild it with this version of slmops`);
}

/** An untrusted value, quoted short for a message, with what a terminal would act on shown escaped. */
export function quote(value: unknown): string {
  const text = terminalText(typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value)));
  if (text.length <= 64) return text;
  const cut = text.slice(0, 61);
  // Not in the middle of an escape (`\u202e`).
  const escape = cut.lastIndexOf("\\");
  return `${escape > 55 ? cut.slice(0, escape) : cut}...`;
}

/** The value at a JSON pointer the validator reported (so within the schema's shape). */
function at(value: unknown, pointer: string): unknown {
  let current = value;
  for (const token of pointer.split("/").slice(1)) {
    const key = token.replace(/~1/g, "/").replace(/~0/g, "~");
    if (current === null || typeof current !== "object" || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** The first schema error in words. Paths follow the schema's names (unknown keys are reported, quoted short, never walked). */
function describeSchemaError(errors: readonly ErrorObject[], value: unknown): string {
  const first = errors[0]!;
  const where = first.instancePath === "" ? "the fixture" : first.instancePath;
  if (first.keyword === "additionalProperties") {
    return `${where} has an unknown field ${quote((first.params as { additionalProperty?: unknown }).additionalProperty)}`;
  }
  // A number's alternatives (decimal string or JSON number) each report; say what a number is once.
  if (errors.some((e) => e.keyword === "anyOf" && e.instancePath === first.instancePath)) {
    return `${where} is ${quote(at(value, first.instancePath))}, not a number this field takes: a finite decimal string such as "-0.25" or a JSON number (scales, margins and tolerances are never negative)`;
  }
  return `${where} ${first.message ?? "is invalid"}`;
}

/** Reads a decimal the schema accepted; refuses what is not a finite number (`1e999`). */
export function readDecimal(value: number | string, where: string): number {
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(n)) refuse(`${where} is ${JSON.stringify(value)}, which is not a finite number`);
  return n;
}

/**
 * Checks that `value` (a fixture as found in release metadata) is a
 * health-check fixture this package can run, within
 * {@link HEALTH_CHECK_LIMITS}, and returns it typed. Throws an
 * {@link InvalidHealthCheckError} naming the first problem.
 */
export function parseHealthCheck(value: unknown): HealthCheck {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    refuse(`it is ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}, not an object (was the release built before fixtures existed?)`);
  }
  const { version, kind } = value as { version?: unknown; kind?: unknown };
  if (version !== HEALTH_CHECK_VERSION) refuse(`its version is ${quote(version)}; this reader knows version ${HEALTH_CHECK_VERSION}`);
  if (kind !== "decoder" && kind !== "generic") refuse(`its kind is ${quote(kind)}, not "decoder" or "generic"`);
  const errors = schemaErrors(kind, value);
  if (errors.length > 0) refuse(describeSchemaError(errors, value));
  const fixture = value as HealthCheck;
  if (fixture.kind === "decoder") checkDecoder(fixture);
  else checkGeneric(fixture);
  readDecimal(fixture.tolerance.rms, "/tolerance/rms");
  readDecimal(fixture.tolerance.max, "/tolerance/max");
  return fixture;
}

function checkDecoder(f: DecoderHealthCheck): void {
  const { vocab, top, ids, logits } = f.expected;
  for (const [where, list] of [["/inputs/prefill", f.inputs.prefill], ["/inputs/decode", f.inputs.decode], ["/expected/top", top], ["/expected/ids", ids]] as const) {
    const index = list.findIndex((id) => id >= vocab);
    if (index >= 0) refuse(`${where}/${index} is token ${list[index]}, outside the vocabulary of ${vocab}`);
  }
  if (logits.length !== ids.length) refuse(`/expected/logits has ${logits.length} values for ${ids.length} ids`);
  if (top.length > vocab) refuse(`/expected/top has ${top.length} ids, more than the vocabulary of ${vocab}`);
  logits.forEach((v, i) => readDecimal(v, `/expected/logits/${i}`));
  readDecimal(f.expected.margin, "/expected/margin");
  if (!(readDecimal(f.expected.scale, "/expected/scale") > 0)) refuse("/expected/scale must be greater than 0");
}

const INTEGER_RANGES: Partial<Record<FixtureElementType, readonly [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  float16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  bool: [0, 1],
};

/** Whether a fixture tensor of this type holds decimals (true) or integers (false). */
export function holdsDecimals(type: FixtureElementType): boolean {
  return type === "float32" || type === "float64";
}

function checkValues(type: FixtureElementType, values: readonly (number | string)[], where: string, outputFloat: boolean): void {
  const decimals = outputFloat || holdsDecimals(type);
  const range = INTEGER_RANGES[type];
  values.forEach((v, i) => {
    if (decimals) {
      readDecimal(v, `${where}/${i}`);
      return;
    }
    if (typeof v !== "number" || !Number.isInteger(v)) refuse(`${where}/${i} must be an integer for a ${type} tensor`);
    if (range && (v < range[0] || v > range[1])) refuse(`${where}/${i} is ${v}, outside the ${type} range`);
  });
}

function elementCount(dims: readonly number[], where: string, limit: number): number {
  let count = 1;
  for (const d of dims) {
    count *= d;
    if (count > limit) refuse(`${where} has more than ${limit} elements`);
  }
  return count;
}

function checkGeneric(f: GenericHealthCheck): void {
  const names = new Set<string>();
  let total = 0;
  f.inputs.forEach((input, i) => {
    if (names.has(input.name)) refuse(`/inputs/${i} names input ${quote(input.name)} a second time`);
    names.add(input.name);
    const count = elementCount(input.dims, `/inputs/${i}/dims`, L.inputValues);
    total += count;
    if (total > L.inputValues) refuse(`the inputs hold more than ${L.inputValues} values`);
    if (input.values.length !== count) refuse(`/inputs/${i}/values has ${input.values.length} values for dims ${JSON.stringify(input.dims)} (${count})`);
    checkValues(input.type, input.values, `/inputs/${i}/values`, false);
  });
  const outputs = new Set<string>();
  f.expected.forEach((output, i) => {
    if (outputs.has(output.name)) refuse(`/expected/${i} names output ${quote(output.name)} a second time`);
    outputs.add(output.name);
    const count = elementCount(output.dims, `/expected/${i}/dims`, L.outputElements);
    const beyond = output.indices.findIndex((index) => index >= count);
    if (beyond >= 0) refuse(`/expected/${i}/indices/${beyond} is ${output.indices[beyond]}, beyond the output's ${count} elements`);
    if (output.values.length !== output.indices.length) refuse(`/expected/${i}/values has ${output.values.length} values for ${output.indices.length} indices`);
    const float = isFloatType(output.type);
    checkValues(output.type, output.values, `/expected/${i}/values`, float);
    const scale = readDecimal(output.scale, `/expected/${i}/scale`);
    if (float && !(scale > 0)) refuse(`/expected/${i}/scale must be greater than 0 for a ${output.type} output`);
  });
}

export function isFloatType(type: string | undefined): boolean {
  return type === "float32" || type === "float64" || type === "float16";
}
