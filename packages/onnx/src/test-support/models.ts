import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataType, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo, type ModelProto } from "../index.js";

/** A temp directory removed by the returned cleanup. */
export async function tempDir(prefix = "slmops-onnx-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random floats in [-1, 1). */
export function seededFloats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** y = (x @ w1 + b) @ w2 with float weights of the given sizes: small enough for tests, real for ONNX Runtime. */
export function mlpModel(inner = 64, hidden = 32, out = 8): ModelProto {
  const w1 = makeTensor("w1", DataType.FLOAT, [inner, hidden], seededFloats(inner * hidden, 1));
  const b = makeTensor("b", DataType.FLOAT, [hidden], seededFloats(hidden, 2));
  const w2 = makeTensor("w2", DataType.FLOAT, [hidden, out], seededFloats(hidden * out, 3));
  const tiny = makeTensor("shape", DataType.INT64, [2], [-1, out]);
  const graph = makeGraph(
    [
      makeNode("MatMul", ["x", "w1"], ["h0"]),
      makeNode("Add", ["h0", "b"], ["h1"]),
      makeNode("MatMul", ["h1", "w2"], ["y0"]),
      makeNode("Reshape", ["y0", "shape"], ["y"]),
    ],
    "mlp",
    [makeValueInfo("x", DataType.FLOAT, ["batch", inner])],
    [makeValueInfo("y", DataType.FLOAT, ["batch", out])],
    [w1, b, w2, tiny],
  );
  return makeModel({ graph, producerName: "slmops-test" });
}
