/** Hand-built models for pass tests. */
import { DataType, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo, type ModelProto } from "@slmops/onnx";

/** Y = A · W with W a [K, N] float initializer named `W`; A is [M, K]. */
export function singleMatMul(weight: Float32Array, K: number, N: number, M: number | string = "M"): ModelProto {
  return makeModel({
    graph: makeGraph(
      [makeNode("MatMul", ["A", "W"], ["Y"], {}, { name: "matmul" })],
      "single-matmul",
      [makeValueInfo("A", DataType.FLOAT, [M, K])],
      [makeValueInfo("Y", DataType.FLOAT, [M, N])],
      [makeTensor("W", DataType.FLOAT, [K, N], weight)],
    ),
    opsetImports: [{ domain: "", version: 17 }],
  });
}

/** Plain float64 matrix product of A [M, K] and B [K, N]. */
export function matmul(a: Float32Array, b: Float32Array, M: number, K: number, N: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      const av = a[m * K + k]!;
      for (let n = 0; n < N; n++) out[m * N + n] = out[m * N + n]! + av * b[k * N + n]!;
    }
  }
  return out;
}
