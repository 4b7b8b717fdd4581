/**
 * Just enough protobuf to write small ONNX models for the runtime's own
 * tests, so they need no other slmops package (the ONNX library itself is
 * tested against ONNX Runtime through this package).
 */

class Writer {
  private readonly bytes: number[] = [];

  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      this.bytes.push(byte);
    } while (v !== 0n);
    return this;
  }

  tag(field: number, wireType: 0 | 2): this {
    return this.varint((field << 3) | wireType);
  }

  int(field: number, value: number | bigint): this {
    return this.tag(field, 0).varint(value);
  }

  raw(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }

  string(field: number, text: string): this {
    return this.raw(field, new TextEncoder().encode(text));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.raw(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** ONNX `TensorProto.DataType` codes used in the tests. */
export const ElemType = { FLOAT: 1, INT64: 7 } as const;

export interface TinyValue {
  readonly name: string;
  readonly elemType: number;
  readonly shape: readonly (number | string)[];
}

export interface TinyNode {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

export interface TinyInitializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

export interface TinyModel {
  readonly inputs: readonly TinyValue[];
  readonly outputs: readonly TinyValue[];
  readonly nodes: readonly TinyNode[];
  readonly initializers?: readonly TinyInitializer[];
  readonly opset?: number;
  /** Default `slmops-runtime-tests`. */
  readonly producer?: string;
}

function valueInfo(w: Writer, value: TinyValue): void {
  w.string(1, value.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, value.elemType);
      tensor.message(2, (shape) => {
        for (const dim of value.shape) {
          shape.message(1, (d) => (typeof dim === "number" ? d.int(1, dim) : d.string(2, dim)));
        }
      });
    }),
  );
}

/** Serializes a one-graph ONNX model (IR version 8, default domain). */
export function encodeTinyModel(model: TinyModel): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // ir_version
  w.string(2, model.producer ?? "slmops-runtime-tests"); // producer_name
  w.message(7, (graph) => {
    model.nodes.forEach((node, i) =>
      graph.message(1, (n) => {
        for (const input of node.inputs) n.string(1, input);
        for (const output of node.outputs) n.string(2, output);
        n.string(3, `${node.opType}_${i}`);
        n.string(4, node.opType);
      }),
    );
    graph.string(2, "tiny");
    for (const init of model.initializers ?? []) {
      graph.message(5, (t) => {
        for (const d of init.dims) t.int(1, d);
        t.int(2, ElemType.FLOAT);
        t.string(8, init.name);
        t.raw(9, new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength));
      });
    }
    for (const input of model.inputs) graph.message(11, (v) => valueInfo(v, input));
    for (const output of model.outputs) graph.message(12, (v) => valueInfo(v, output));
  });
  w.message(8, (opset) => opset.string(1, "").int(2, model.opset ?? 17));
  return w.finish();
}

/** y = x + bias, x: float32 [batch, 3]; plus n = Shape(ids) for an int64 input. */
export function addBiasModel(bias: readonly number[] = [1, 2, 3]): Uint8Array {
  return encodeTinyModel({
    inputs: [
      { name: "x", elemType: ElemType.FLOAT, shape: ["batch", 3] },
      { name: "ids", elemType: ElemType.INT64, shape: ["batch", "sequence"] },
    ],
    outputs: [
      { name: "y", elemType: ElemType.FLOAT, shape: ["batch", 3] },
      { name: "ids_shape", elemType: ElemType.INT64, shape: [2] },
    ],
    nodes: [
      { opType: "Add", inputs: ["x", "bias"], outputs: ["y"] },
      { opType: "Shape", inputs: ["ids"], outputs: ["ids_shape"] },
    ],
    initializers: [{ name: "bias", dims: [3], data: Float32Array.from(bias) }],
  });
}
