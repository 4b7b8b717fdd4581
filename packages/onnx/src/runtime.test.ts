import { createSession, tensor } from "@slmops/runtime";
import { describe, expect, it } from "vitest";
import { DataType, attr, decodeModel, encodeModel, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo } from "./index.js";

describe("built models run in ONNX Runtime", () => {
  it("Gemm with an explicit float attribute and fp16 weights through Cast", async () => {
    const w = makeTensor("w", DataType.FLOAT16, [3, 2], [1, 0.5, -2, 4, 0.25, 8]);
    const graph = makeGraph(
      [
        makeNode("Cast", ["w"], ["w32"], { to: DataType.FLOAT }),
        makeNode("Gemm", ["x", "w32"], ["y"], { alpha: attr.float(2), transB: 0 }),
      ],
      "gemm",
      [makeValueInfo("x", DataType.FLOAT, ["batch", 3])],
      [makeValueInfo("y", DataType.FLOAT, ["batch", 2])],
      [w],
    );
    const bytes = encodeModel(decodeModel(encodeModel(makeModel({ graph }))));
    const session = await createSession(bytes);
    const out = await session.run({ x: tensor("float32", new Float32Array([1, 1, 1, 2, 0, 1]), [2, 3]) });
    await session.release();
    // x @ w * 2: row0 = (1-2+0.25, 0.5+4+8)*2, row1 = (2+0.25, 1+8)*2
    expect(Array.from(out["y"]!.data as Float32Array)).toEqual([-1.5, 25, 4.5, 18]);
  });
});
