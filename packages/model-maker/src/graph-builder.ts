/**
 * A small helper for writing ONNX graphs by hand: it names nodes and their
 * outputs the way PyTorch exports do (`/model/layers.0/self_attn/q_proj/MatMul`
 * → `…/MatMul_output_0`) and collects nodes and initializers in order.
 */
import { AttributeType, DataType, emptyTensor, type AttributeProto, type GraphProto, type NodeProto, type TensorProto, type TypeProto, type ValueInfoProto } from "@slmops/onnx";

/** `TensorProto.DataType` codes the maker uses. */
export const FLOAT = DataType.FLOAT;
export const INT64 = DataType.INT64;
export const INT32 = DataType.INT32;
export const BOOL = DataType.BOOL;

export type AttributeValue = number | readonly number[] | { readonly float: number } | GraphProto;

function attribute(name: string, value: AttributeValue): AttributeProto {
  const base: AttributeProto = {
    name,
    floats: [],
    ints: [],
    strings: [],
    tensors: [],
    graphs: [],
    sparseTensors: [],
    typeProtos: [],
  };
  if (typeof value === "number") return { ...base, type: AttributeType.INT, i: BigInt(value) };
  if ("float" in value) return { ...base, type: AttributeType.FLOAT, f: value.float };
  if ("node" in value) return { ...base, type: AttributeType.GRAPH, g: value };
  return { ...base, type: AttributeType.INTS, ints: (value as readonly number[]).map((v) => BigInt(v)) };
}

function littleEndianBytes(data: Float32Array | BigInt64Array | Uint8Array): Uint8Array {
  // Every platform Node runs on is little-endian, which is what ONNX raw_data wants.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A tensor initializer holding `data` as raw little-endian bytes. */
export function tensorProto(
  name: string,
  dataType: number,
  dims: readonly number[],
  data: Float32Array | BigInt64Array | Uint8Array,
): TensorProto {
  return { ...emptyTensor(), name, dims: [...dims], dataType, rawData: littleEndianBytes(data) };
}

/** A tensor value's declared element type and shape (symbolic dims as strings). */
export function valueInfo(name: string, elemType: number, shape: readonly (number | string)[]): ValueInfoProto {
  const type: TypeProto = {
    tensorType: {
      elemType,
      shape: { dim: shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
    },
  };
  return { name, type, metadataProps: [] };
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly constants = new Map<string, string>();

  /**
   * Adds a node named `name` (a path like `/model/norm/Mul`) and returns its
   * output names. Pass `outputs` to give outputs explicit names (graph outputs).
   */
  op(
    opType: string,
    name: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue>> = {},
    outputs: number | readonly string[] = 1,
    domain?: string,
  ): string[] {
    const outputNames =
      typeof outputs === "number" ? Array.from({ length: outputs }, (_, k) => `${name}_output_${k}`) : [...outputs];
    this.nodes.push({
      input: [...inputs],
      output: outputNames,
      name,
      opType,
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
      metadataProps: [],
      deviceConfigurations: [],
      ...(domain ? { domain } : {}),
    });
    return outputNames;
  }

  /** Like {@link op} for a node with exactly one output. */
  op1(opType: string, name: string, inputs: readonly string[], attributes: Readonly<Record<string, AttributeValue>> = {}): string {
    return this.op(opType, name, inputs, attributes, 1)[0] as string;
  }

  /** The nodes and initializers so far as a graph (a model's, or a subgraph that reads its inputs from the graph around it). */
  graph(name: string, inputs: readonly ValueInfoProto[], outputs: readonly ValueInfoProto[]): GraphProto {
    return {
      node: this.nodes,
      name,
      initializer: this.initializers,
      sparseInitializer: [],
      input: [...inputs],
      output: [...outputs],
      valueInfo: [],
      quantizationAnnotation: [],
      metadataProps: [],
    };
  }

  initializer(tensor: TensorProto): string {
    this.initializers.push(tensor);
    return tensor.name as string;
  }

  /** A shared int64 constant (scalar when `dims` is empty), stored once as an initializer. */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join("x")}:${values.join(",")}`;
    const existing = this.constants.get(key);
    if (existing !== undefined) return existing;
    const name = `/model/constants/int64_${this.constants.size}`;
    this.initializer(tensorProto(name, INT64, dims, BigInt64Array.from(values, (v) => BigInt(v))));
    this.constants.set(key, name);
    return name;
  }

  /** A shared float32 constant (scalar when `dims` is empty). */
  float(values: readonly number[], dims: readonly number[] = []): string {
    const key = `f32:${dims.join("x")}:${values.join(",")}`;
    const existing = this.constants.get(key);
    if (existing !== undefined) return existing;
    const name = `/model/constants/float_${this.constants.size}`;
    this.initializer(tensorProto(name, FLOAT, dims, Float32Array.from(values)));
    this.constants.set(key, name);
    return name;
  }
}
