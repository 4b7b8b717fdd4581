/**
 * Bytes ⇄ ModelProto, through protobufjs and the schema in `descriptor.ts`.
 *
 * Decoding runs the bounded wire pre-scan first, then protobufjs, then turns
 * protobufjs' messages into the plain shapes of `proto.ts` (Long → number or
 * bigint, Buffer → Uint8Array view, absent singular fields stay absent).
 */
import protobuf from "protobufjs";
import { ConfigurationError, SlmopsError } from "@slmops/diagnostics";
import { ONNX_DESCRIPTOR } from "./descriptor.js";
import type { ModelProto, TensorProto } from "./proto.js";
import { DEFAULT_DECODE_LIMITS, WireFormatError, scanWire, type DecodeLimits } from "./wire-scan.js";

const root = protobuf.Root.fromJSON(ONNX_DESCRIPTOR);
root.resolveAll();

/** The protobufjs reflection of `onnx.ModelProto`, for callers who need it. */
export const ModelProtoType: protobuf.Type = root.lookupType("onnx.ModelProto");
const GraphProtoType = root.lookupType("onnx.GraphProto");
const TensorProtoType = root.lookupType("onnx.TensorProto");

/** Called for each TensorProto while encoding; returns the tensor to write in its place. */
export type TensorReplacer = (tensor: TensorProto) => TensorProto;

/** int64 fields that keep full 64-bit precision as bigint; every other int64 becomes a number. */
const BIGINT_FIELDS = new Set(["AttributeProto.i", "AttributeProto.ints", "TensorProto.int64Data", "TensorProto.uint64Data"]);
const INT64_TYPES = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);

export interface DecodeOptions {
  /** How the model is named in error messages (usually its file name). Default "the model". */
  readonly name?: string;
  readonly limits?: DecodeLimits;
}

/** A model whose bytes are not a valid ONNX protobuf (a user's or a file's fault, never ours). */
export class InvalidModelError extends ConfigurationError {}

/** A value in a ModelProto that cannot be encoded (e.g. a non-integer where ONNX wants int64). */
export class ModelEncodeError extends SlmopsError {}

/**
 * Decodes untrusted bytes into a ModelProto. Never crashes or hangs on bad
 * input: throws InvalidModelError ("<name> is not a valid ONNX model: …").
 */
export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): ModelProto {
  const name = options.name ?? "the model";
  const limits = { ...DEFAULT_DECODE_LIMITS, ...options.limits };
  const fail = (reason: string, cause?: unknown): never => {
    throw new InvalidModelError(`${name} is not a valid ONNX model: ${reason}`, { cause });
  };
  try {
    scanWire(bytes, ModelProtoType, GraphProtoType, limits);
  } catch (error) {
    if (error instanceof WireFormatError) fail(error.message, error);
    throw error;
  }
  let message: protobuf.Message;
  try {
    message = ModelProtoType.decode(keepingUnknownFields(bytes));
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error), error);
  }
  try {
    return fromWire(ModelProtoType, message as unknown as Record<string, unknown>) as unknown as ModelProto;
  } catch (error) {
    if (error instanceof RangeError) return fail(error.message, error);
    throw error;
  }
}

/**
 * Checks the first bytes of a `totalLength`-byte model before the rest is
 * read, with decodeModel's checks and message, so a file of garbage or zeros
 * is refused without being read whole.
 */
export function checkModelPrefix(prefix: Uint8Array, totalLength: number, options: DecodeOptions = {}): void {
  const limits = { ...DEFAULT_DECODE_LIMITS, ...options.limits };
  try {
    scanWire(prefix, ModelProtoType, GraphProtoType, limits, totalLength);
  } catch (error) {
    if (error instanceof WireFormatError) {
      throw new InvalidModelError(`${options.name ?? "the model"} is not a valid ONNX model: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/**
 * Decodes an untrusted serialized TensorProto (e.g. the `input_0.pb` files of
 * ONNX's backend tests), with the same checks as decodeModel.
 */
export function decodeTensor(bytes: Uint8Array, options: DecodeOptions = {}): TensorProto {
  const name = options.name ?? "the tensor";
  const limits = { ...DEFAULT_DECODE_LIMITS, ...options.limits };
  const fail = (reason: string, cause?: unknown): never => {
    throw new InvalidModelError(`${name} is not a valid ONNX tensor: ${reason}`, { cause });
  };
  try {
    scanWire(bytes, TensorProtoType, GraphProtoType, limits);
    const message = TensorProtoType.decode(keepingUnknownFields(bytes));
    return fromWire(TensorProtoType, message as unknown as Record<string, unknown>) as unknown as TensorProto;
  } catch (error) {
    if (error instanceof WireFormatError) return fail(error.message, error);
    if (error instanceof Error && !(error instanceof TypeError)) return fail(error.message, error);
    throw error;
  }
}

/** Encodes a TensorProto on its own. */
export function encodeTensor(tensor: TensorProto): Uint8Array {
  const out = TensorProtoType.encode(toWire(TensorProtoType, tensor as unknown as Record<string, unknown>, "tensor", undefined)).finish();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Encodes a ModelProto. Throws ModelEncodeError if the model holds values ONNX cannot carry. */
export function encodeModel(model: ModelProto): Uint8Array {
  return encodeModelWith(model, undefined);
}

/** encodeModel, writing `replace(t)` in place of every tensor t (the model itself is not changed). */
export function encodeModelWith(model: ModelProto, replace: TensorReplacer | undefined): Uint8Array {
  const wire = toWire(ModelProtoType, model as unknown as Record<string, unknown>, "model", replace);
  let out: Uint8Array;
  try {
    out = ModelProtoType.encode(wire).finish();
  } catch (error) {
    throw new ModelEncodeError(
      `cannot encode the model (${error instanceof Error ? error.message : String(error)}); ` +
        "a model over 2 GiB must keep its weights in external data",
      { cause: error },
    );
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** A protobufjs reader that keeps unknown fields (as `$unknowns`) instead of dropping them. */
function keepingUnknownFields(bytes: Uint8Array): protobuf.Reader {
  const reader = protobuf.Reader.create(bytes);
  reader.discardUnknown = false;
  return reader;
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}

function longToBigInt(value: unknown, unsigned: boolean): bigint {
  if (typeof value === "number") return BigInt(value);
  if (typeof value === "string") return BigInt(value);
  const long = value as LongLike;
  const bits = (BigInt(long.high >>> 0) << 32n) | BigInt(long.low >>> 0);
  return unsigned ? BigInt.asUintN(64, bits) : BigInt.asIntN(64, bits);
}

function fieldKey(type: protobuf.Type, field: protobuf.Field): string {
  return `${type.name}.${field.name}`;
}

function convertFromWire(type: protobuf.Type, field: protobuf.Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return fromWire(resolved, value as Record<string, unknown>);
  if (INT64_TYPES.has(field.type)) {
    const big = longToBigInt(value, field.type === "uint64" || field.type === "fixed64");
    if (BIGINT_FIELDS.has(fieldKey(type, field))) return big;
    const n = Number(big);
    if (!Number.isSafeInteger(n)) throw new RangeError(`${fieldKey(type, field)} holds ${big}, beyond the exact integer range`);
    return n;
  }
  if (field.type === "bytes") {
    const b = value as Uint8Array;
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  return value;
}

function fromWire(type: protobuf.Type, message: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const unknowns = message["$unknowns"];
  if (Array.isArray(unknowns) && unknowns.length > 0) {
    out["unknownFields"] = unknowns.map((b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  }
  for (const field of type.fieldsArray) {
    const key = field.name;
    const present = hasOwn(message, key) && message[key] !== undefined && message[key] !== null;
    if (field.repeated) {
      const values = present ? (message[key] as unknown[]) : [];
      const passThrough = !(field.resolvedType instanceof protobuf.Type) && !INT64_TYPES.has(field.type) && field.type !== "bytes";
      out[key] = passThrough ? values : values.map((v) => convertFromWire(type, field, v));
    } else if (present) {
      out[key] = convertFromWire(type, field, message[key]);
    }
  }
  return out;
}

function bigintToLong(value: bigint): LongLike {
  const bits = BigInt.asUintN(64, value);
  return { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0 };
}

function convertToWire(
  type: protobuf.Type,
  field: protobuf.Field,
  value: unknown,
  path: string,
  replace: TensorReplacer | undefined,
): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    if (typeof value !== "object" || value === null) throw new ModelEncodeError(`${path} must be a ${resolved.name} object`);
    const message = replace && resolved === TensorProtoType ? replace(value as TensorProto) : value;
    return toWire(resolved, message as Record<string, unknown>, path, replace);
  }
  if (INT64_TYPES.has(field.type)) {
    if (typeof value === "bigint") {
      const min = field.type === "uint64" ? 0n : -(2n ** 63n);
      const max = field.type === "uint64" ? 2n ** 64n - 1n : 2n ** 63n - 1n;
      if (value < min || value > max) throw new ModelEncodeError(`${path} = ${value} does not fit in ${field.type}`);
      return bigintToLong(value);
    }
    if (typeof value === "number" && Number.isSafeInteger(value)) return bigintToLong(BigInt(value));
    throw new ModelEncodeError(`${path} must be an integer (number or bigint), got ${String(value)}`);
  }
  switch (field.type) {
    case "bytes":
      if (!(value instanceof Uint8Array)) throw new ModelEncodeError(`${path} must be a Uint8Array`);
      return value;
    case "string":
      if (typeof value !== "string") throw new ModelEncodeError(`${path} must be a string`);
      return value;
    case "float":
    case "double":
      if (typeof value !== "number") throw new ModelEncodeError(`${path} must be a number`);
      return value;
    default:
      if (typeof value !== "number" || !Number.isInteger(value)) throw new ModelEncodeError(`${path} must be an integer`);
      return value;
  }
}

function toWire(
  type: protobuf.Type,
  message: Record<string, unknown>,
  path: string,
  replace: TensorReplacer | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const unknowns = message["unknownFields"];
  if (unknowns !== undefined) {
    if (!Array.isArray(unknowns) || !unknowns.every((u) => u instanceof Uint8Array)) {
      throw new ModelEncodeError(`${path}.unknownFields must be an array of Uint8Array`);
    }
    if (unknowns.length > 0) out["$unknowns"] = unknowns;
  }
  for (const field of type.fieldsArray) {
    const key = field.name;
    const value = message[key];
    if (value === undefined || value === null) continue;
    if (field.repeated) {
      if (!Array.isArray(value)) throw new ModelEncodeError(`${path}.${key} must be an array`);
      if (value.length === 0) continue;
      const passThrough = field.type === "float" || field.type === "double" || field.type === "int32";
      out[key] = passThrough
        ? value
        : value.map((v, i) => convertToWire(type, field, v, `${path}.${key}[${i}]`, replace));
    } else {
      out[key] = convertToWire(type, field, value, `${path}.${key}`, replace);
    }
  }
  return out;
}
