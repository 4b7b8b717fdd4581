/**
 * The shape and bounds of a health-check fixture, as JSON Schemas. Compiled
 * ahead of time into src/generated/fixture-validators.ts (`npm run generate`
 * after changing them; fixture.test.ts fails until then), so a device does
 * not compile them before every health check.
 */

/** The fixture format this package writes and reads. */
export const HEALTH_CHECK_VERSION = 1;

/** The bounds a fixture must keep (it comes from release metadata, a remote input). */
export const HEALTH_CHECK_LIMITS = {
  /** Tokens of a decoder's prefill. */
  prefillTokens: 256,
  /** Tokens decoded one by one after the prefill. */
  decodeTokens: 16,
  /** The largest vocabulary a fixture may state. */
  vocab: 16_777_216,
  /** Top ids recorded. */
  top: 64,
  /** Fingerprint ids (decoder) or indices per output (generic). */
  fingerprint: 256,
  /** Inputs and outputs of a generic fixture. */
  tensors: 64,
  /** Values over all inputs of a generic fixture. */
  inputValues: 4096,
  /** Rank of a tensor, and the largest dimension. */
  rank: 8,
  dimension: 1_048_576,
  /** Elements an output may have (its fingerprint indices stay below it). */
  outputElements: 1 << 30,
  /** Length of a tensor name. */
  name: 256,
} as const;

const L = HEALTH_CHECK_LIMITS;

/** A decimal as {@link Decimal} strings are written, or a plain JSON number. */
const DECIMAL = {
  anyOf: [{ type: "string", maxLength: 40, pattern: "^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?$" }, { type: "number" }],
};
const NON_NEGATIVE_DECIMAL = {
  anyOf: [{ type: "string", maxLength: 40, pattern: "^(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?$" }, { type: "number", minimum: 0 }],
};
const ID = { type: "integer", minimum: 0, maximum: L.vocab - 1 };
const ELEMENT_TYPES = ["float32", "float16", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "bool"];
const TOLERANCE = {
  type: "object",
  additionalProperties: false,
  required: ["rms", "max"],
  properties: { rms: NON_NEGATIVE_DECIMAL, max: NON_NEGATIVE_DECIMAL },
};
const NAME = { type: "string", minLength: 1, maxLength: L.name };
const DIMS = { type: "array", maxItems: L.rank, items: { type: "integer", minimum: 0, maximum: L.dimension } };
const VALUE = { anyOf: [{ type: "integer", minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }, DECIMAL] };

/** The JSON Schema (2020-12) of a decoder's fixture. */
export const DECODER_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["version", "kind", "inputs", "expected", "tolerance"],
  properties: {
    version: { const: HEALTH_CHECK_VERSION },
    kind: { const: "decoder" },
    inputs: {
      type: "object",
      additionalProperties: false,
      required: ["prefill", "decode"],
      properties: {
        prefill: { type: "array", minItems: 1, maxItems: L.prefillTokens, items: ID },
        decode: { type: "array", maxItems: L.decodeTokens, items: ID },
      },
    },
    expected: {
      type: "object",
      additionalProperties: false,
      required: ["vocab", "top", "margin", "scale", "ids", "logits"],
      properties: {
        vocab: { type: "integer", minimum: 1, maximum: L.vocab },
        top: { type: "array", minItems: 1, maxItems: L.top, uniqueItems: true, items: ID },
        margin: NON_NEGATIVE_DECIMAL,
        scale: NON_NEGATIVE_DECIMAL,
        ids: { type: "array", minItems: 1, maxItems: L.fingerprint, uniqueItems: true, items: ID },
        logits: { type: "array", minItems: 1, maxItems: L.fingerprint, items: DECIMAL },
      },
    },
    tolerance: TOLERANCE,
  },
} as const;

/** The JSON Schema (2020-12) of a generic model's fixture. */
export const GENERIC_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["version", "kind", "inputs", "expected", "tolerance"],
  properties: {
    version: { const: HEALTH_CHECK_VERSION },
    kind: { const: "generic" },
    inputs: {
      type: "array",
      minItems: 1,
      maxItems: L.tensors,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "type", "dims", "values"],
        properties: {
          name: NAME,
          type: { enum: ELEMENT_TYPES },
          dims: DIMS,
          values: { type: "array", maxItems: L.inputValues, items: VALUE },
        },
      },
    },
    expected: {
      type: "array",
      minItems: 1,
      maxItems: L.tensors,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "type", "dims", "indices", "values", "scale"],
        properties: {
          name: NAME,
          type: { enum: ELEMENT_TYPES },
          dims: DIMS,
          indices: { type: "array", maxItems: L.fingerprint, uniqueItems: true, items: { type: "integer", minimum: 0, maximum: L.outputElements - 1 } },
          values: { type: "array", maxItems: L.fingerprint, items: VALUE },
          scale: NON_NEGATIVE_DECIMAL,
        },
      },
    },
    tolerance: TOLERANCE,
  },
} as const;
