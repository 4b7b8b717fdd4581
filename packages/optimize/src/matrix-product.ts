/**
 * Dense float32 matrix products for calibration, computed by ONNX Runtime's
 * MatMul (its CPU kernels are multithreaded and vectorized; the same product
 * in a JavaScript loop is about a hundred times slower). One session of a
 * one-node graph with symbolic dimensions serves every shape.
 */
import { DataType, encodeModel, makeGraph, makeModel, makeNode, makeValueInfo } from "@slmops/onnx";
import { createSession, type Session } from "@slmops/runtime";

/** A · B for A [M, K] and B [K, N], row-major: [M, N]. */
export type Multiply = (a: Float32Array, b: Float32Array, M: number, K: number, N: number) => Promise<Float32Array>;

/** A · B in plain JavaScript (float64 accumulation): for small products and tests. */
export const multiplyInJs: Multiply = async (a, b, M, K, N) => {
  const out = new Float32Array(M * N);
  const row = new Float64Array(N);
  for (let m = 0; m < M; m++) {
    row.fill(0);
    for (let k = 0; k < K; k++) {
      const v = a[m * K + k]!;
      if (v === 0) continue;
      const bk = k * N;
      for (let n = 0; n < N; n++) row[n]! += v * b[bk + n]!;
    }
    out.set(row, m * N);
  }
  return out;
};

/** An ONNX Runtime session that multiplies matrices; release it when done. */
export interface MatrixProduct {
  readonly multiply: Multiply;
  release(): Promise<void>;
}

export async function openMatrixProduct(): Promise<MatrixProduct> {
  const model = makeModel({
    graph: makeGraph(
      [makeNode("MatMul", ["A", "B"], ["Y"], {}, { name: "product" })],
      "matrix-product",
      [makeValueInfo("A", DataType.FLOAT, ["M", "K"]), makeValueInfo("B", DataType.FLOAT, ["K", "N"])],
      [makeValueInfo("Y", DataType.FLOAT, ["M", "N"])],
    ),
    opsetImports: [{ domain: "", version: 17 }],
  });
  const session: Session = await createSession(encodeModel(model), { graphOptimizationLevel: "disabled" });
  return {
    async multiply(a, b, M, K, N) {
      if (M === 0 || N === 0) return new Float32Array(M * N);
      const out = await session.run({ A: { type: "float32", dims: [M, K], data: a }, B: { type: "float32", dims: [K, N], data: b } }, ["Y"]);
      return out.Y!.data as Float32Array;
    },
    release: () => session.release(),
  };
}
