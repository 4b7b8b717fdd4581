import { describe, expect, it } from "vitest";
import { DataType, encodeModel, tensorRawBytes, type ModelProto, type TensorProto } from "@slmops/onnx";
import { createSession } from "@slmops/runtime";
import { dequantizeNBits, type NBitsWeight } from "./matmul-nbits.js";
import { normalizePass } from "./pass-options.js";
import { quantizeModel, type QuantizePass } from "./quantize-pass.js";
import { matmul, singleMatMul } from "./test-support/models.js";
import { weightLike } from "./test-support/random.js";

function int4(options: Record<string, unknown>): QuantizePass {
  return normalizePass({ quantize: { weights: "int4", ...options } }) as QuantizePass;
}

async function run(model: ModelProto, a: Float32Array, M: number, K: number): Promise<Float32Array> {
  const session = await createSession(encodeModel(model), { graphOptimizationLevel: "disabled" });
  try {
    const out = await session.run({ A: { type: "float32", dims: [M, K], data: a } });
    return out.Y!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function initializer(model: ModelProto, name: string): TensorProto {
  const t = model.graph!.initializer.find((i) => i.name === name);
  if (!t) throw new Error(`no initializer ${name}`);
  return t;
}

/** Reads the MatMulNBits node's tensors back out of the model. */
function nbitsFromModel(model: ModelProto): NBitsWeight {
  const n = model.graph!.node.find((x) => x.opType === "MatMulNBits")!;
  const get = (k: string) => Number(n.attribute.find((a) => a.name === k)!.i);
  const [K, N, bits, blockSize] = [get("K"), get("N"), get("bits"), get("block_size")];
  const b = initializer(model, n.input[1]!);
  const s = initializer(model, n.input[2]!);
  const scaleBytes = tensorRawBytes(s);
  const scales = new Float32Array(scaleBytes.byteLength / 4);
  new Uint8Array(scales.buffer).set(scaleBytes);
  const zeroPoints = n.input[3] ? tensorRawBytes(initializer(model, n.input[3])) : undefined;
  return {
    K, N, bits, blockSize,
    kBlocks: b.dims[1]!,
    blobSize: b.dims[2]!,
    packed: tensorRawBytes(b),
    scales,
    zeroPoints,
  };
}

describe("int4 MatMulNBits on ONNX Runtime", () => {
  const M = 5;
  it.each([
    [16, false, 64, 24],
    [32, true, 96, 40],
    [64, false, 200, 33], // K not a multiple of the block size
    [128, true, 128, 16],
    [32, false, 40, 7], // fewer than two blocks' zero points per byte
  ])("computes exactly x · dequantized(W) (block %i, symmetric %s, K %i, N %i)", async (blockSize, symmetric, K, N) => {
    const w = weightLike(K * N, K + N);
    const model = singleMatMul(w, K, N);
    const stats = quantizeModel(model, int4({ "block-size": blockSize, symmetric }));
    expect(stats).toEqual({ quantized: 1, parameters: K * N, skipped: 0 });
    const node = model.graph!.node[0]!;
    expect(node.opType).toBe("MatMulNBits");
    expect(node.domain).toBe("com.microsoft");
    expect(model.opsetImport.some((o) => o.domain === "com.microsoft")).toBe(true);
    expect(model.graph!.initializer.some((t) => t.name === "W")).toBe(false);

    const q = nbitsFromModel(model);
    expect(q.zeroPoints === undefined).toBe(symmetric);
    const a = weightLike(M * K, 99, 1);
    const expected = matmul(a, dequantizeNBits(q), M, K, N);
    const actual = await run(model, a, M, K);
    for (let i = 0; i < expected.length; i++) {
      expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(2e-5);
    }
    // ...and is close to the float product (4 bits: a few percent of the output's scale).
    const exact = matmul(a, w, M, K, N);
    const rms = Math.sqrt(exact.reduce((s, v) => s + v * v, 0) / exact.length);
    let err = 0;
    for (let i = 0; i < exact.length; i++) err += (actual[i]! - exact[i]!) ** 2;
    expect(Math.sqrt(err / exact.length)).toBeLessThan(0.2 * rms);
  });

  it("writes accuracy_level when asked", () => {
    const model = singleMatMul(weightLike(64 * 8, 1), 64, 8);
    quantizeModel(model, int4({ "accuracy-level": "int8" }));
    const level = model.graph!.node[0]!.attribute.find((a) => a.name === "accuracy_level");
    expect(Number(level?.i)).toBe(4);
  });

  it("leaves excluded nodes alone and refuses a model with nothing to quantize", () => {
    const model = singleMatMul(weightLike(64 * 8, 1), 64, 8);
    expect(() => quantizeModel(model, int4({ "exclude-nodes": ["matmul"] }))).toThrow(/no MatMul/);
    expect(model.graph!.node[0]!.opType).toBe("MatMul");
  });
});

describe("int8 dynamic quantization on ONNX Runtime", () => {
  it("computes exactly what DynamicQuantizeLinear + MatMulInteger define", async () => {
    const [M, K, N] = [4, 48, 20];
    const w = weightLike(K * N, 5);
    const model = singleMatMul(w, K, N);
    quantizeModel(model, normalizePass({ quantize: { weights: "int8", activations: "dynamic" } }) as QuantizePass);
    expect(model.graph!.node.map((n) => n.opType)).toEqual(["DynamicQuantizeLinear", "MatMulInteger", "Cast", "Mul", "Mul"]);
    const codesT = model.graph!.initializer.find((t) => t.dataType === DataType.INT8)!;
    const codes = new Int8Array(tensorRawBytes(codesT).slice().buffer);
    const scaleT = model.graph!.initializer.find((t) => t.dataType === DataType.FLOAT && t.dims[0] === N)!;
    const scales = new Float32Array(tensorRawBytes(scaleT).slice().buffer);

    const a = weightLike(M * K, 11, 1);
    // DynamicQuantizeLinear: uint8, range always includes 0, round half to even.
    let lo = 0;
    let hi = 0;
    for (const v of a) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const aScale = Math.fround((hi - lo) / 255);
    const roundEven = (x: number) => {
      const r = Math.round(x);
      return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
    };
    const aZero = Math.min(255, Math.max(0, roundEven(-lo / aScale)));
    const aq = a.map((v) => Math.min(255, Math.max(0, roundEven(v / aScale) + aZero)));
    const actual = await run(model, a, M, K);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += (aq[m * K + k]! - aZero) * codes[k * N + n]!;
        const expected = acc * Math.fround(aScale * scales[n]!);
        expect(Math.abs(actual[m * N + n]! - expected)).toBeLessThanOrEqual(Math.abs(expected) * 1e-6 + 1e-7);
      }
    }
  });

  it("shares one DynamicQuantizeLinear between MatMuls reading the same activation", () => {
    const model = singleMatMul(weightLike(32 * 8, 1), 32, 8);
    const g = model.graph!;
    g.node.push({ ...g.node[0]!, name: "matmul2", input: ["A", "W"], output: ["Y2"] });
    g.output.push({ ...g.output[0]!, name: "Y2" });
    quantizeModel(model, normalizePass({ quantize: { weights: "int8", activations: "dynamic" } }) as QuantizePass);
    expect(g.node.filter((n) => n.opType === "DynamicQuantizeLinear")).toHaveLength(1);
    expect(g.node.filter((n) => n.opType === "MatMulInteger")).toHaveLength(2);
    expect(g.initializer.filter((t) => t.dataType === DataType.INT8)).toHaveLength(1);
  });
});
