import { describe, expect, it } from "vitest";
import { createSession, tensor } from "./index.js";
import { ElemType, encodeTinyModel } from "./test-support/tiny-onnx.js";
import { WARM_UP_MODEL, warmUp } from "./warm-up.js";

describe("warmUp", () => {
  it("is a model of one MatMul, y = x·x over float32 [2, 2]", async () => {
    const expected = encodeTinyModel({
      producer: "slmops-warm-up",
      inputs: [{ name: "x", elemType: ElemType.FLOAT, shape: [2, 2] }],
      outputs: [{ name: "y", elemType: ElemType.FLOAT, shape: [2, 2] }],
      nodes: [{ opType: "MatMul", inputs: ["x", "x"], outputs: ["y"] }],
    });
    expect(Buffer.from(WARM_UP_MODEL).equals(Buffer.from(expected))).toBe(true);
    const session = await createSession(WARM_UP_MODEL);
    try {
      const { y } = await session.run({ x: tensor("float32", new Float32Array([1, 2, 3, 4]), [2, 2]) });
      expect(Array.from(y!.data as Float32Array)).toEqual([7, 10, 15, 22]);
    } finally {
      await session.release();
    }
  });

  it("can run more than once, and other sessions work after it", async () => {
    await warmUp();
    await warmUp();
    const session = await createSession(WARM_UP_MODEL);
    await session.release();
  });
});
