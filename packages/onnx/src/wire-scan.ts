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

/**
 * Limits applied to untrusted model bytes.
 *
 * Decoding costs memory per value, not per byte: an empty NodeProto is two
 * bytes on disk and about 500 bytes once decoded (a TensorProto about 750, an
 * AttributeProto 650, a shape dimension 140, an int64 130, a string 32), so a
 * 20 MB file of ten million empty nodes would take about 5 GB. Each kind of
 * repeated value is therefore counted before anything is decoded. The
 * defaults are ten times or more what real models of a few hundred million
 * parameters hold (such a model has tens of thousands of nodes and keeps its
 * weights in raw_data or external data), and keep the decoded model of a
 * file within the limits to about 1.5 GB in the worst mix.
 */
export interface DecodeLimits {
  /** Largest input accepted, in bytes. Default: 2 GiB − 1 (protobuf's own limit). */
  readonly maxBytes?: number;
  /** Deepest nesting of graphs inside graphs (If/Loop/Scan bodies). Default 32. */
  readonly maxGraphDepth?: number;
  /** Deepest nesting of messages of any kind. Default 100 (as protoc and protobufjs). */
  readonly maxMessageDepth?: number;
  /** Most messages of any kind (nodes, attributes, tensors, dimensions …) in one model. Default 2 million. */
  readonly maxMessages?: number;
  /** Most nodes over all graphs and functions. Default 1 million. */
  readonly maxNodes?: number;
  /** Most tensors (initializers, Constant values, sparse tensor parts …). Default 500,000. */
  readonly maxTensors?: number;
  /** Most node attributes. Default 1 million. */
  readonly maxAttributes?: number;
  /** Most value infos (graph inputs, outputs, value_info). Default 1 million. */
  readonly maxValueInfos?: number;
  /** Most shape dimensions over all value infos. Default 2 million. */
  readonly maxDimensions?: number;
  /** Most opset imports (model and functions). Default 1000. */
  readonly maxOpsetImports?: number;
  /** Most dimensions of one tensor or shape. Default 256 (real tensors have a handful). */
  readonly maxRank?: number;
  /** Most elements of repeated string and bytes fields (value names, string_data …). Default 16 million. */
  readonly maxStrings?: number;
  /** Longest single string field (a name, a doc string), in bytes. Default 64 MiB. */
  readonly maxStringBytes?: number;
  /** Most fields the schema does not know (each is kept as a copy). Default 1 million. */
  readonly maxUnknownFields?: number;
  /**
   * Most elements over all repeated scalar fields (float_data, dims …), each a
   * JS number once decoded. Default 128 million (1 GiB of numbers): weights
   * of real models are raw_data, which is not counted here.
   */
  readonly maxRepeatedElements?: number;
  /** Most 64-bit integers over all repeated int64 fields (each becomes a bigint). Default 4 million. */
  readonly maxInt64Elements?: number;
}

export const DEFAULT_DECODE_LIMITS: Required<DecodeLimits> = {
  maxBytes: 2 ** 31 - 1,
  maxGraphDepth: 32,
  maxMessageDepth: 100,
  maxMessages: 2_000_000,
  maxNodes: 1_000_000,
  maxTensors: 500_000,
  maxAttributes: 1_000_000,
  maxValueInfos: 1_000_000,
  maxDimensions: 2_000_000,
  maxOpsetImports: 1000,
  maxRank: 256,
  maxStrings: 16_000_000,
  maxStringBytes: 64 * 1024 * 1024,
  maxUnknownFields: 1_000_000,
  maxRepeatedElements: 128_000_000,
  maxInt64Elements: 4_000_000,
};

/** The message kinds counted on their own, by protobuf full name, with their limit and a name for messages. */
const COUNTED: Readonly<Record<string, { readonly limit: keyof DecodeLimits; readonly what: string }>> = {
  ".onnx.NodeProto": { limit: "maxNodes", what: "nodes" },
  ".onnx.TensorProto": { limit: "maxTensors", what: "tensors" },
  ".onnx.AttributeProto": { limit: "maxAttributes", what: "attributes" },
  ".onnx.ValueInfoProto": { limit: "maxValueInfos", what: "value infos (graph inputs, outputs and value_info)" },
  ".onnx.TensorShapeProto.Dimension": { limit: "maxDimensions", what: "shape dimensions" },
  ".onnx.OperatorSetIdProto": { limit: "maxOpsetImports", what: "opset imports" },
};

/** Fields that hold one tensor's or shape's dimensions, bounded by maxRank. */
const RANK_FIELDS = new Set([".onnx.TensorProto.dims", ".onnx.TensorShapeProto.dim", ".onnx.SparseTensorProto.dims"]);

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
  /** Index into COUNTED_KINDS when each message of this field counts against its own limit. */
  readonly counted: number | undefined;
  /** The field holds dimensions of one tensor or shape. */
  readonly rank: boolean;
  /** A string or bytes field: repeated ones count as strings, strings are bounded in length. */
  readonly text: "string" | "bytes" | undefined;
}

const COUNTED_KINDS = Object.entries(COUNTED);
const COUNTED_INDEX = new Map(COUNTED_KINDS.map(([name], i) => [name, i]));

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
      counted: isMessage ? COUNTED_INDEX.get((resolved as Type).fullName) : undefined,
      rank: RANK_FIELDS.has(`${type.fullName}.${field.name}`),
      text: field.type === "string" || field.type === "bytes" ? field.type : undefined,
    });
  }
  plans.set(type, plan);
  return plan;
}

interface Frame {
  readonly type: Type | undefined;
  readonly end: number;
  readonly graph: boolean;
  /** Dimensions seen so far in this tensor or shape. */
  rank: number;
}

/** Thrown inside a prefix scan when the prefix is used up: not a problem, just the end of what was read. */
class EndOfPrefix extends Error {}

/**
 * Checks `bytes` as an encoding of `root` (normally `onnx.ModelProto`).
 * Throws WireFormatError on the first problem.
 *
 * With `totalLength` larger than `bytes.length`, `bytes` is the start of a
 * longer input: lengths are checked against the whole input and the scan
 * stops, without error, where the prefix ends. A file that is refused by
 * its first bytes is then refused without being read whole.
 */
export function scanWire(bytes: Uint8Array, root: Type, graphType: Type, limits: Required<DecodeLimits>, totalLength = bytes.length): void {
  if (totalLength > limits.maxBytes) {
    throw new WireFormatError(`it is ${totalLength} bytes, more than the ${limits.maxBytes}-byte limit`, 0);
  }
  try {
    scan(bytes, root, graphType, limits, totalLength);
  } catch (error) {
    if (error instanceof EndOfPrefix) return;
    throw error;
  }
}

function scan(bytes: Uint8Array, root: Type, graphType: Type, limits: Required<DecodeLimits>, totalLength: number): void {
  const partial = totalLength > bytes.length;
  let pos = 0;
  let messages = 1;
  let repeated = 0;
  let int64s = 0;
  let strings = 0;
  let unknowns = 0;
  let graphDepth = 0;
  const kinds = new Array<number>(COUNTED_KINDS.length).fill(0);
  const stack: Frame[] = [{ type: root, end: totalLength, graph: false, rank: 0 }];
  const tooMany = (count: number, limit: number, what: string, at: number): void => {
    if (count > limit) {
      throw new WireFormatError(
        `it has more than ${limit} ${what}, the limit (real models of a few hundred million parameters have far fewer); ` +
          "the file is damaged or was not written by an ONNX exporter — export the model again",
        at,
      );
    }
  };

  const readVarint = (end: number): number => {
    // Exact up to 2^53 (all a valid length or tag can be); larger values stay larger.
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new WireFormatError("truncated varint", pos);
      if (pos >= bytes.length) throw new EndOfPrefix();
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
    if (partial && pos >= bytes.length) return;
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

    if (!plan) {
      unknowns++;
      tooMany(unknowns, limits.maxUnknownFields, "fields the ONNX schema does not know", tagStart);
    } else if (plan.rank && wireType !== LENGTH_DELIMITED) {
      frame.rank++;
      tooMany(frame.rank, limits.maxRank, `dimensions in one ${frame.type?.name ?? "tensor"}`, tagStart);
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
          tooMany(messages, limits.maxMessages, "protobuf messages", tagStart);
          if (plan.counted !== undefined) {
            const [, { limit, what }] = COUNTED_KINDS[plan.counted]!;
            tooMany(++kinds[plan.counted]!, limits[limit], what, tagStart);
          }
          if (plan.rank) {
            frame.rank++;
            tooMany(frame.rank, limits.maxRank, `dimensions in one ${frame.type?.name ?? "shape"}`, tagStart);
          }
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
          stack.push({ type: plan.message, end, graph, rank: 0 });
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
            if (plan.rank) {
              frame.rank += n;
              tooMany(frame.rank, limits.maxRank, `dimensions in one ${frame.type?.name ?? "tensor"}`, tagStart);
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
          if (plan?.text === "string" && length > limits.maxStringBytes) {
            throw new WireFormatError(`${where()} is a ${length}-byte string, more than the ${limits.maxStringBytes}-byte limit`, tagStart);
          }
          if (plan?.text && plan.field.repeated) {
            strings++;
            tooMany(strings, limits.maxStrings, "strings in repeated fields (value names, string_data …)", tagStart);
          } else if (plan?.field.repeated) repeated++;
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
      throw new WireFormatError(`more than ${limits.maxRepeatedElements} repeated values (float_data, int32_data …); keep weights in raw_data`, tagStart);
    }
    if (int64s > limits.maxInt64Elements) {
      throw new WireFormatError(`more than ${limits.maxInt64Elements} repeated 64-bit integers`, tagStart);
    }
  }
  if (!partial && pos !== bytes.length) throw new WireFormatError("trailing bytes after the model", pos);
}
