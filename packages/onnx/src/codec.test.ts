import { describe, expect, it } from "vitest";
import {
  AttributeType,
  DataType,
  attr,
  decodeModel,
  encodeModel,
  getAttribute,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
  tensorToArray,
  type ModelProto,
} from "./index.js";

function sampleModel(): ModelProto {
  const weight = makeTensor("w", DataType.FLOAT, [2, 3], new Float32Array([1, 2, 3, 4, 5, 6]));
  const big = makeTensor("big", DataType.INT64, [2], [9223372036854775807n, -1n]);
  const gemm = makeNode("Gemm", ["x", "w"], ["y"], { alpha: attr.float(1), beta: 0.5, transB: 1 }, { name: "gemm0" });
  const slice = makeNode("Identity", ["big"], ["z"], { note: "hello", axes: [0, -1], scales: [0.25, 2.5] });
  const graph = makeGraph(
    [gemm, slice],
    "g",
    [makeValueInfo("x", DataType.FLOAT, ["batch", 3])],
    [makeValueInfo("y", DataType.FLOAT, ["batch", 2]), makeValueInfo("z", DataType.INT64, [2])],
    [weight, big],
  );
  return makeModel({ graph, opsetImports: [{ domain: "", version: 17 }], producerName: "test" });
}

describe("encodeModel / decodeModel", () => {
  it("round-trips a built model with the same meaning", () => {
    const model = sampleModel();
    const decoded = decodeModel(encodeModel(model));
    expect(decoded).toEqual(model);
    expect(decodeModel(encodeModel(decoded))).toEqual(decoded);
  });

  it("keeps int64 attribute and tensor values exact", () => {
    const decoded = decodeModel(encodeModel(sampleModel()));
    const big = decoded.graph!.initializer[1]!;
    expect(tensorToArray(big)).toEqual(new BigInt64Array([9223372036854775807n, -1n]));
    const node = decoded.graph!.node[1]!;
    expect(node.attribute.find((a) => a.name === "axes")!.ints).toEqual([0n, -1n]);
  });

  it("infers attribute kinds and honours explicit ones", () => {
    const gemm = decodeModel(encodeModel(sampleModel())).graph!.node[0]!;
    const kinds = Object.fromEntries(gemm.attribute.map((a) => [a.name, a.type]));
    expect(kinds).toEqual({ alpha: AttributeType.FLOAT, beta: AttributeType.FLOAT, transB: AttributeType.INT });
    expect(getAttribute(gemm, "alpha")).toBe(1);
    expect(getAttribute(gemm, "transB")).toBe(1);
    expect(getAttribute(gemm, "missing", 7)).toBe(7);
  });

  it("keeps symbolic dimensions", () => {
    const decoded = decodeModel(encodeModel(sampleModel()));
    expect(decoded.graph!.input[0]!.type!.tensorType!.shape!.dim).toEqual([{ dimParam: "batch" }, { dimValue: 3 }]);
  });
});

describe("fields this schema does not know", () => {
  it("keeps them through decode → encode → decode", () => {
    const known = encodeModel(sampleModel());
    // ModelProto field 99 (a string) and GraphProto field 77 (a varint) from some newer ONNX.
    const extra = new Uint8Array([...known, 0x9a, 0x06, 3, 0x61, 0x62, 0x63]);
    const decoded = decodeModel(extra);
    expect(decoded.unknownFields).toEqual([new Uint8Array([0x9a, 0x06, 3, 0x61, 0x62, 0x63])]);
    const graph = decoded.graph!;
    graph.unknownFields = [new Uint8Array([0xe8, 0x04, 0x05])];
    const again = decodeModel(encodeModel(decoded));
    expect(again).toEqual(decoded);
    expect(again.graph!.unknownFields).toEqual([new Uint8Array([0xe8, 0x04, 0x05])]);
  });
});
