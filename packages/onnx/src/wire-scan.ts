/**
 * A bounded, non-recursive pass over protobuf bytes before they are decoded.
 *
 * Untrusted model files must fail with a clear message rather than crash or
 * exhaust memory. protobufjs decodes recursively, trusts wire types of known
 * fields and allocates one JS value per element, so this pass checks first,
 * with no allocation per field: every tag and length is in bounds, known
 * fields carry the wire type the schema says, no groups, nesting depth is
 * limited, and the number of values decoding would create is limited.
 */
import type { Field, Type } from "protobufjs";

/** Limits applied to untrusted model bytes. */
export interface DecodeLimits {
  /** Largest input accepted, in bytes. Default: 2 GiB − 1 (protobuf's own limit). */
  readonly maxBytes?: number;
  /** Deepest nesting of graphs inside graphs (If/Loop/Scan bodies). Default 32. */
  readonly maxGraphDepth?: number;
  /** Deepest nesting of messages of any kind. Default 100 (as protoc and protobufjs). */
  readonly maxMessageDepth?: number;
  /** Most messages (nodes, attributes, tensors, dimensions …) in one model. Default 16 million. */
  readonly maxMessages?: number;
  /** Most elements over all repeated scalar fields (float_data, dims …). Default 1 billion. */
  readonly maxRepeatedElements?: number;
  /** Most 64-bit integers over all repeated int64 fields (each becomes a bigint). Default 64 million. */
  readonly maxInt64Elements?: number;
}

export const DEFAULT_DECODE_LIMITS: Required<DecodeLimits> = {
  maxBytes: 2 ** 31 - 1,
  maxGraphDepth: 32,
  maxMessageDepth: 100,
  maxMessages: 16_000_000,
  maxRepeatedElements: 1_000_000_000,
  maxInt64Elements: 64_000_000,
};

/** Raised with a short reason; the decoder turns it into a ConfigurationError. */
export class WireFormatError extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(`${reason} (at byte ${offset})`);
  }
}

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

const SCALAR_WIRE_TYPE: Readonly<Record<string, number>> = {
  double: FIXED64,
  float: FIXED32,
  int32: VARINT,
  int64: VARINT,
  uint32: VARINT,
  uint64: VARINT,
  sint32: VARINT,
  sint64: VARINT,
  fixed32: FIXED32,
  fixed64: FIXED64,
  sfixed32: FIXED32,
  sfixed64: FIXED64,
  bool: VARINT,
  string: LENGTH_DELIMITED,
  bytes: LENGTH_DELIMITED,
};

const WIRE_TYPE_NAMES = ["varint", "fixed64", "length-delimited", "start-group", "end-group", "fixed32", "6", "7"];

const INT64_TYPES = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);

interface FieldPlan {
  readonly field: Field;
  /** Wire type of one element (VARINT for enums). */
  readonly wireType: number;
  readonly message: Type | undefined;
  readonly packable: boolean;
  readonly int64: boolean;
}

const plans = new WeakMap<Type, Map<number, FieldPlan>>();

function planFor(type: Type): Map<number, FieldPlan> {
  let plan = plans.get(type);
  if (plan) return plan;
  plan = new Map();
  for (const field of type.fieldsArray) {
    field.resolve();
    const resolved = field.resolvedType;
    const isMessage = resolved !== null && "fieldsArray" in resolved;
    const isEnum = resolved !== null && !isMessage;
    const wireType = isMessage ? LENGTH_DELIMITED : isEnum ? VARINT : (SCALAR_WIRE_TYPE[field.type] ?? LENGTH_DELIMITED);
    plan.set(field.id, {
      field,
      wireType,
      message: isMessage ? (resolved as Type) : undefined,
      packable: field.repeated && wireType !== LENGTH_DELIMITED,
      int64: INT64_TYPES.has(field.type),
    });
  }
  plans.set(type, plan);
  return plan;
}

interface Frame {
  readonly type: Type | undefined;
  readonly end: number;
  readonly graph: boolean;
}

/**
 * Checks `bytes` as an encoding of `root` (normally `onnx.ModelProto`).
 * Throws WireFormatError on the first problem.
 */
export function scanWire(bytes: Uint8Array, root: Type, graphType: Type, limits: Required<DecodeLimits>): void {
  if (bytes.length > limits.maxBytes) {
    throw new WireFormatError(`it is ${bytes.length} bytes, more than the ${limits.maxBytes}-byte limit`, 0);
  }
  let pos = 0;
  let messages = 1;
  let repeated = 0;
  let int64s = 0;
  let graphDepth = 0;
  const stack: Frame[] = [{ type: root, end: bytes.length, graph: false }];

  const readVarint = (end: number): number => {
    // Exact up to 2^53 (all a valid length or tag can be); larger values stay larger.
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new WireFormatError("truncated varint", pos);
      const b = bytes[pos++]!;
      result += (b & 0x7f) * shift;
      shift *= 128;
      if ((b & 0x80) === 0) return result;
    }
    throw new WireFormatError("varint longer than 10 bytes", pos);
  };
  const skip = (n: number, end: number, what: string): void => {
    if (n > end - pos) throw new WireFormatError(`truncated ${what}: needs ${n} bytes, ${end - pos} left`, pos);
    pos += n;
  };

  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (pos === frame.end) {
      stack.pop();
      if (frame.graph) graphDepth--;
      continue;
    }
    const tagStart = pos;
    const tag = readVarint(frame.end);
    const fieldNumber = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (fieldNumber === 0 || fieldNumber > 0x1fffffff) throw new WireFormatError(`invalid field number ${fieldNumber}`, tagStart);
    const plan = frame.type ? planFor(frame.type).get(fieldNumber) : undefined;
    const where = (): string => (plan && frame.type ? `field ${frame.type.name}.${plan.field.name}` : `field ${fieldNumber}`);

    if (plan) {
      const packedOk = plan.packable && wireType === LENGTH_DELIMITED;
      if (wireType !== plan.wireType && !packedOk) {
        throw new WireFormatError(
          `${where()} has wire type ${WIRE_TYPE_NAMES[wireType]}, the schema says ${WIRE_TYPE_NAMES[plan.wireType]}`,
          tagStart,
        );
      }
    }

    switch (wireType) {
      case VARINT:
        readVarint(frame.end);
        if (plan?.field.repeated) {
          repeated++;
          if (plan.int64) int64s++;
        }
        break;
      case FIXED64:
        skip(8, frame.end, "fixed64 value");
        if (plan?.field.repeated) repeated++;
        break;
      case FIXED32:
        skip(4, frame.end, "fixed32 value");
        if (plan?.field.repeated) repeated++;
        break;
      case LENGTH_DELIMITED: {
        const length = readVarint(frame.end);
        if (length > frame.end - pos) {
          throw new WireFormatError(`${where()} declares ${length} bytes but only ${frame.end - pos} remain`, tagStart);
        }
        const end = pos + length;
        if (plan?.message) {
          messages++;
          if (messages > limits.maxMessages) throw new WireFormatError(`more than ${limits.maxMessages} messages`, tagStart);
          if (stack.length >= limits.maxMessageDepth) {
            throw new WireFormatError(`messages nested more than ${limits.maxMessageDepth} deep`, tagStart);
          }
          const graph = plan.message === graphType;
          if (graph) {
            graphDepth++;
            if (graphDepth > limits.maxGraphDepth) {
              throw new WireFormatError(`graphs nested more than ${limits.maxGraphDepth} deep`, tagStart);
            }
          }
          stack.push({ type: plan.message, end, graph });
          continue;
        }
        if (plan?.packable) {
          // A packed run of scalars: count and check the elements.
          if (plan.wireType === VARINT) {
            let n = 0;
            while (pos < end) {
              readVarint(end);
              n++;
            }
            repeated += n;
            if (plan.int64) int64s += n;
          } else {
            const size = plan.wireType === FIXED32 ? 4 : 8;
            if (length % size !== 0) throw new WireFormatError(`${where()} packed length ${length} is not a multiple of ${size}`, tagStart);
            repeated += length / size;
            pos = end;
          }
        } else {
          if (plan?.field.repeated) repeated++;
          pos = end;
        }
        break;
      }
      default:
        throw new WireFormatError(
          `${where()} uses wire type ${WIRE_TYPE_NAMES[wireType]}, which ONNX never uses`,
          tagStart,
        );
    }
    if (repeated > limits.maxRepeatedElements) {
      throw new WireFormatError(`more than ${limits.maxRepeatedElements} repeated values`, tagStart);
    }
    if (int64s > limits.maxInt64Elements) {
      throw new WireFormatError(`more than ${limits.maxInt64Elements} repeated 64-bit integers`, tagStart);
    }
  }
  if (pos !== bytes.length) throw new WireFormatError("trailing bytes after the model", pos);
}
