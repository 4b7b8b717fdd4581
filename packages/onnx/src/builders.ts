/**
 * Builders in the manner of `onnx.helper`: nodes with inferred attribute
 * kinds, value infos with symbolic shapes, graphs and models, plus readers
 * for attributes.
 */
import type { DataType } from "./data-type.js";
import {
  AttributeType,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type OperatorSetIdProto,
  type SparseTensorProto,
  type StringStringEntryProto,
  type TensorProto,
  type TensorShapeDimension,
  type TypeProto,
  type ValueInfoProto,
} from "./proto.js";

/** The newest IR version this package knows. */
export const IR_VERSION = 11;
/** IR version `makeModel` writes unless told otherwise (ONNX 1.15+, ONNX Runtime 1.17+). */
export const DEFAULT_IR_VERSION = 10;

const ATTRIBUTE_KIND = Symbol("slmops.onnx.attribute");

/** An attribute value with its kind chosen explicitly (see `attr`). */
export interface TypedAttribute {
  readonly [ATTRIBUTE_KIND]: true;
  readonly type: AttributeType;
  readonly value: unknown;
}

const typedAttr = (type: AttributeType, value: unknown): TypedAttribute => ({ [ATTRIBUTE_KIND]: true, type, value });

/**
 * Explicit attribute kinds, for values whose kind cannot be inferred — above
 * all a float that happens to be whole: `{ alpha: attr.float(1) }`.
 */
export const attr = {
  float: (v: number): TypedAttribute => typedAttr(AttributeType.FLOAT, v),
  int: (v: number | bigint): TypedAttribute => typedAttr(AttributeType.INT, v),
  string: (v: string | Uint8Array): TypedAttribute => typedAttr(AttributeType.STRING, v),
  floats: (v: readonly number[]): TypedAttribute => typedAttr(AttributeType.FLOATS, v),
  ints: (v: readonly (number | bigint)[]): TypedAttribute => typedAttr(AttributeType.INTS, v),
  strings: (v: readonly (string | Uint8Array)[]): TypedAttribute => typedAttr(AttributeType.STRINGS, v),
  tensor: (v: TensorProto): TypedAttribute => typedAttr(AttributeType.TENSOR, v),
  tensors: (v: readonly TensorProto[]): TypedAttribute => typedAttr(AttributeType.TENSORS, v),
  graph: (v: GraphProto): TypedAttribute => typedAttr(AttributeType.GRAPH, v),
  graphs: (v: readonly GraphProto[]): TypedAttribute => typedAttr(AttributeType.GRAPHS, v),
  sparseTensor: (v: SparseTensorProto): TypedAttribute => typedAttr(AttributeType.SPARSE_TENSOR, v),
  sparseTensors: (v: readonly SparseTensorProto[]): TypedAttribute => typedAttr(AttributeType.SPARSE_TENSORS, v),
  typeProto: (v: TypeProto): TypedAttribute => typedAttr(AttributeType.TYPE_PROTO, v),
  typeProtos: (v: readonly TypeProto[]): TypedAttribute => typedAttr(AttributeType.TYPE_PROTOS, v),
};

/**
 * Attribute values `makeNode` accepts. Kinds are inferred: a whole number or
 * bigint → INT, any other number → FLOAT, string/Uint8Array → STRING, a
 * TensorProto → TENSOR, a GraphProto → GRAPH, arrays of those → the list
 * kinds (numbers → INTS if all whole, else FLOATS). Use `attr.float(1)` etc.
 * when the inference would be wrong, and for empty lists.
 */
export type AttributeValue =
  | number
  | bigint
  | string
  | Uint8Array
  | TensorProto
  | GraphProto
  | readonly number[]
  | readonly bigint[]
  | readonly string[]
  | readonly TensorProto[]
  | readonly GraphProto[]
  | TypedAttribute
  | AttributeProto;

export function emptyAttribute(): AttributeProto {
  return { floats: [], ints: [], strings: [], tensors: [], graphs: [], sparseTensors: [], typeProtos: [] };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
const isTyped = (v: unknown): v is TypedAttribute => isObject(v) && ATTRIBUTE_KIND in v;
const isTensor = (v: unknown): v is TensorProto => isObject(v) && Array.isArray(v["dims"]) && "int64Data" in v;
const isGraph = (v: unknown): v is GraphProto => isObject(v) && Array.isArray(v["node"]) && Array.isArray(v["initializer"]);
const isAttributeProto = (v: unknown): v is AttributeProto => isObject(v) && Array.isArray(v["typeProtos"]) && "type" in v;

const toInt = (v: number | bigint, name: string): bigint => {
  if (typeof v === "bigint") return v;
  if (!Number.isSafeInteger(v)) throw new TypeError(`attribute "${name}": ${v} is not an integer`);
  return BigInt(v);
};
const toBytes = (v: string | Uint8Array): Uint8Array => (typeof v === "string" ? new TextEncoder().encode(v) : v);

function inferKind(name: string, value: unknown): AttributeType {
  if (typeof value === "bigint") return AttributeType.INT;
  if (typeof value === "number") return Number.isInteger(value) ? AttributeType.INT : AttributeType.FLOAT;
  if (typeof value === "string" || value instanceof Uint8Array) return AttributeType.STRING;
  if (isTensor(value)) return AttributeType.TENSOR;
  if (isGraph(value)) return AttributeType.GRAPH;
  if (Array.isArray(value)) {
    if (value.length === 0) throw new TypeError(`attribute "${name}": an empty list has no kind; use attr.ints([]) or similar`);
    if (value.every((v) => typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v)))) return AttributeType.INTS;
    if (value.every((v) => typeof v === "number" || typeof v === "bigint")) return AttributeType.FLOATS;
    if (value.every((v) => typeof v === "string" || v instanceof Uint8Array)) return AttributeType.STRINGS;
    if (value.every(isTensor)) return AttributeType.TENSORS;
    if (value.every(isGraph)) return AttributeType.GRAPHS;
  }
  throw new TypeError(`attribute "${name}": cannot infer the kind of ${String(value)}; use attr.*`);
}

/** One AttributeProto from a name and a value (kinds as in `AttributeValue`). */
export function makeAttribute(name: string, value: AttributeValue): AttributeProto {
  if (isAttributeProto(value)) return { ...value, name };
  const type = isTyped(value) ? value.type : inferKind(name, value);
  const v: unknown = isTyped(value) ? value.value : value;
  const a = emptyAttribute();
  a.name = name;
  a.type = type;
  switch (type) {
    case AttributeType.FLOAT:
      a.f = Math.fround(Number(v));
      break;
    case AttributeType.INT:
      a.i = toInt(v as number | bigint, name);
      break;
    case AttributeType.STRING:
      a.s = toBytes(v as string | Uint8Array);
      break;
    case AttributeType.TENSOR:
      a.t = v as TensorProto;
      break;
    case AttributeType.GRAPH:
      a.g = v as GraphProto;
      break;
    case AttributeType.SPARSE_TENSOR:
      a.sparseTensor = v as SparseTensorProto;
      break;
    case AttributeType.TYPE_PROTO:
      a.tp = v as TypeProto;
      break;
    case AttributeType.FLOATS:
      a.floats = (v as readonly (number | bigint)[]).map((x) => Math.fround(Number(x)));
      break;
    case AttributeType.INTS:
      a.ints = (v as readonly (number | bigint)[]).map((x) => toInt(x, name));
      break;
    case AttributeType.STRINGS:
      a.strings = (v as readonly (string | Uint8Array)[]).map(toBytes);
      break;
    case AttributeType.TENSORS:
      a.tensors = [...(v as TensorProto[])];
      break;
    case AttributeType.GRAPHS:
      a.graphs = [...(v as GraphProto[])];
      break;
    case AttributeType.SPARSE_TENSORS:
      a.sparseTensors = [...(v as SparseTensorProto[])];
      break;
    case AttributeType.TYPE_PROTOS:
      a.typeProtos = [...(v as TypeProto[])];
      break;
    default:
      throw new TypeError(`attribute "${name}": unknown kind ${type}`);
  }
  return a;
}

export interface NodeOptions {
  readonly name?: string;
  /** Operator domain; omit for the default `ai.onnx` domain (e.g. `com.microsoft`). */
  readonly domain?: string;
  readonly docString?: string;
}

/**
 * A NodeProto: `makeNode("Gemm", ["x", "w"], ["y"], { alpha: attr.float(1), transB: 1 })`.
 * Attributes keep the order given; `undefined` values are left out.
 */
export function makeNode(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attributes: Readonly<Record<string, AttributeValue | undefined>> = {},
  options: NodeOptions = {},
): NodeProto {
  const node: NodeProto = {
    input: [...inputs],
    output: [...outputs],
    opType,
    attribute: [],
    metadataProps: [],
    deviceConfigurations: [],
  };
  if (options.name !== undefined) node.name = options.name;
  if (options.domain !== undefined && options.domain !== "") node.domain = options.domain;
  if (options.docString !== undefined) node.docString = options.docString;
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined) node.attribute.push(makeAttribute(key, value));
  }
  return node;
}

/** One dimension of a shape: a size, a symbolic name (`"batch"`), or null for unknown. */
export type ShapeDim = number | string | null;

/** A tensor-typed TypeProto; `shape` undefined means unknown rank. */
export function makeTensorType(elemType: DataType, shape?: readonly ShapeDim[]): TypeProto {
  const tensorType: TypeProto["tensorType"] = { elemType };
  if (shape !== undefined) {
    tensorType.shape = {
      dim: shape.map((d): TensorShapeDimension => {
        if (d === null) return {};
        if (typeof d === "string") return { dimParam: d };
        if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`invalid dimension ${d}`);
        return { dimValue: d };
      }),
    };
  }
  return { tensorType };
}

/** A ValueInfoProto for a tensor: `makeValueInfo("input_ids", DataType.INT64, ["batch", "sequence"])`. */
export function makeValueInfo(name: string, elemType: DataType, shape?: readonly ShapeDim[], docString?: string): ValueInfoProto {
  const info: ValueInfoProto = { name, type: makeTensorType(elemType, shape), metadataProps: [] };
  if (docString !== undefined) info.docString = docString;
  return info;
}

export interface GraphOptions {
  readonly valueInfo?: readonly ValueInfoProto[];
  readonly sparseInitializers?: readonly SparseTensorProto[];
  readonly docString?: string;
}

export function makeGraph(
  nodes: readonly NodeProto[],
  name: string,
  inputs: readonly ValueInfoProto[],
  outputs: readonly ValueInfoProto[],
  initializers: readonly TensorProto[] = [],
  options: GraphOptions = {},
): GraphProto {
  const graph: GraphProto = {
    node: [...nodes],
    name,
    initializer: [...initializers],
    sparseInitializer: [...(options.sparseInitializers ?? [])],
    input: [...inputs],
    output: [...outputs],
    valueInfo: [...(options.valueInfo ?? [])],
    quantizationAnnotation: [],
    metadataProps: [],
  };
  if (options.docString !== undefined) graph.docString = options.docString;
  return graph;
}

/** `{ domain: "", version: 17 }`-style opset import. */
export function makeOpsetId(domain: string, version: number): OperatorSetIdProto {
  return domain === "" ? { domain: "", version } : { domain, version };
}

export interface ModelOptions {
  readonly graph: GraphProto;
  /** Opsets the graph uses; default `[{ domain: "", version: 17 }]`. */
  readonly opsetImports?: readonly OperatorSetIdProto[];
  /** Default DEFAULT_IR_VERSION. */
  readonly irVersion?: number;
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly domain?: string;
  readonly modelVersion?: number;
  readonly docString?: string;
  /** Free-form key/value metadata. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export function makeModel(options: ModelOptions): ModelProto {
  const model: ModelProto = {
    irVersion: options.irVersion ?? DEFAULT_IR_VERSION,
    opsetImport: [...(options.opsetImports ?? [makeOpsetId("", 17)])],
    graph: options.graph,
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]): StringStringEntryProto => ({ key, value })),
    trainingInfo: [],
    functions: [],
    configuration: [],
  };
  if (options.producerName !== undefined) model.producerName = options.producerName;
  if (options.producerVersion !== undefined) model.producerVersion = options.producerVersion;
  if (options.domain !== undefined) model.domain = options.domain;
  if (options.modelVersion !== undefined) model.modelVersion = options.modelVersion;
  if (options.docString !== undefined) model.docString = options.docString;
  return model;
}

/** A plain JS value of an attribute: numbers for INT/INTS (exact up to 2^53), strings for STRING(S). */
export type AttributeReading =
  | number
  | string
  | number[]
  | string[]
  | TensorProto
  | GraphProto
  | SparseTensorProto
  | TypeProto
  | TensorProto[]
  | GraphProto[]
  | SparseTensorProto[]
  | TypeProto[]
  | undefined;

/** The value of an attribute as plain JS (INT → number; use `.i` for the exact bigint). */
export function attributeValue(a: AttributeProto): AttributeReading {
  const decoder = new TextDecoder();
  switch (a.type) {
    case AttributeType.FLOAT:
      return a.f ?? 0;
    case AttributeType.INT:
      return Number(a.i ?? 0n);
    case AttributeType.STRING:
      return decoder.decode(a.s ?? new Uint8Array());
    case AttributeType.TENSOR:
      return a.t;
    case AttributeType.GRAPH:
      return a.g;
    case AttributeType.SPARSE_TENSOR:
      return a.sparseTensor;
    case AttributeType.TYPE_PROTO:
      return a.tp;
    case AttributeType.FLOATS:
      return a.floats;
    case AttributeType.INTS:
      return a.ints.map(Number);
    case AttributeType.STRINGS:
      return a.strings.map((s) => decoder.decode(s));
    case AttributeType.TENSORS:
      return a.tensors;
    case AttributeType.GRAPHS:
      return a.graphs;
    case AttributeType.SPARSE_TENSORS:
      return a.sparseTensors;
    case AttributeType.TYPE_PROTOS:
      return a.typeProtos;
    default:
      return undefined;
  }
}

/** The attribute named `name` of a node, or undefined. */
export function findAttribute(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

/** The value of a node's attribute (see `attributeValue`), or `fallback` when absent. */
export function getAttribute<T extends AttributeReading>(node: NodeProto, name: string, fallback?: T): AttributeReading | T {
  const a = findAttribute(node, name);
  return a === undefined ? fallback : attributeValue(a);
}
