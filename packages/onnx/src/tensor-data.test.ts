import { describe, expect, it } from "vitest";
import {
  DataType,
  InvalidTensorError,
  bfloat16ToFloat32,
  decodeModel,
  elementSize,
  emptyTensor,
  encodeModel,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16,
  float4e2m1ToFloat32,
  float8e4m3fnToFloat32,
  float8e4m3fnuzToFloat32,
  float8e5m2ToFloat32,
  float8e8m0ToFloat32,
  makeGraph,
  makeModel,
  makeTensor,
  makeTensorFromBytes,
  tensorRawBytes,
  tensorToArray,
  type TensorProto,
} from "./index.js";

describe("float formats", () => {
  it("converts float16 both ways, rounding to nearest even", () => {
    expect(float32ToFloat16(1)).toBe(0x3c00);
    expect(float32ToFloat16(-2)).toBe(0xc000);
    expect(float32ToFloat16(65504)).toBe(0x7bff);
    expect(float32ToFloat16(65520)).toBe(0x7c00); // rounds up to infinity
    expect(float32ToFloat16(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16(2 ** -26)).toBe(0x0000); // below half of it
    expect(float32ToFloat16(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(float32ToFloat16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(Number.isNaN(float16ToFloat32(float32ToFloat16(NaN)))).toBe(true);
    for (let bits = 0; bits < 0x7c00; bits += 7) expect(float32ToFloat16(float16ToFloat32(bits))).toBe(bits);
  });

  it("converts bfloat16 both ways", () => {
    expect(float32ToBfloat16(1)).toBe(0x3f80);
    expect(bfloat16ToFloat32(0x4049)).toBeCloseTo(3.140625, 6);
    expect(float32ToBfloat16(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(Number.isNaN(bfloat16ToFloat32(float32ToBfloat16(NaN)))).toBe(true);
  });

  it("decodes the float8 and float4 formats by their definitions", () => {
    expect(float8e4m3fnToFloat32(0x7e)).toBe(448); // largest E4M3FN
    expect(Number.isNaN(float8e4m3fnToFloat32(0x7f))).toBe(true);
    expect(float8e4m3fnToFloat32(0x01)).toBe(2 ** -9); // smallest subnormal
    expect(Number.isNaN(float8e4m3fnuzToFloat32(0x80))).toBe(true);
    expect(float8e4m3fnuzToFloat32(0x7f)).toBe(240);
    expect(float8e5m2ToFloat32(0x7b)).toBe(57344);
    expect(float8e5m2ToFloat32(0x7c)).toBe(Infinity);
    expect(float8e8m0ToFloat32(127)).toBe(1);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 15].map(float4e2m1ToFloat32)).toEqual([0, 0.5, 1, 1.5, 2, 3, 4, 6, -6]);
  });
});

describe("makeTensor / tensorToArray", () => {
  it("round-trips every numeric type through raw_data", () => {
    const cases: [number, ArrayLike<number | bigint>][] = [
      [DataType.FLOAT, new Float32Array([1.5, -2, 3.25])],
      [DataType.DOUBLE, new Float64Array([1e-300, -2, Math.PI])],
      [DataType.INT8, new Int8Array([-128, 0, 127])],
      [DataType.UINT8, new Uint8Array([0, 1, 255])],
      [DataType.INT16, new Int16Array([-32768, 5, 32767])],
      [DataType.UINT16, new Uint16Array([0, 7, 65535])],
      [DataType.INT32, new Int32Array([-(2 ** 31), 9, 2 ** 31 - 1])],
      [DataType.UINT32, new Uint32Array([0, 11, 2 ** 32 - 1])],
      [DataType.INT64, new BigInt64Array([-(2n ** 63n), 13n, 2n ** 63n - 1n])],
      [DataType.UINT64, new BigUint64Array([0n, 17n, 2n ** 64n - 1n])],
      [DataType.BOOL, new Uint8Array([1, 0, 1])],
    ];
    for (const [type, data] of cases) {
      const t = makeTensor("t", type as DataType, [3], data as Float32Array);
      expect(t.rawData!.byteLength).toBe(3 * elementSize(type)!);
      const decoded = decodeModel(encodeModel(makeModel({ graph: makeGraph([], "g", [], [], [t]) }))).graph!.initializer[0]!;
      expect(tensorToArray(decoded)).toEqual(data);
    }
  });

  it("packs INT4/UINT4 two to a byte, low nibble first, and unpacks them", () => {
    const t = makeTensor("q", DataType.INT4, [5], [-8, 7, -1, 0, 3]);
    expect(Array.from(t.rawData!)).toEqual([0x78, 0x0f, 0x03]);
    expect(tensorToArray(t)).toEqual(new Int8Array([-8, 7, -1, 0, 3]));
    const u = makeTensor("u", DataType.UINT4, [3], [15, 0, 9]);
    expect(Array.from(u.rawData!)).toEqual([0x0f, 0x09]);
    expect(tensorToArray(u)).toEqual(new Uint8Array([15, 0, 9]));
    expect(() => makeTensor("q", DataType.INT4, [1], [8])).toThrow(/outside \[-8, 7\]/);
  });

  it("converts float16 and bfloat16 data from floats and back", () => {
    const t = makeTensor("h", DataType.FLOAT16, [2, 2], [1, -0.5, 65504, 0.1]);
    expect(Array.from(new Uint16Array(t.rawData!.slice().buffer))).toEqual([0x3c00, 0xb800, 0x7bff, 0x2e66]);
    expect(Array.from(tensorToArray(t) as Float32Array)).toEqual([1, -0.5, 65504, float16ToFloat32(0x2e66)]);
    const bits = makeTensor("h2", DataType.FLOAT16, [1], new Uint16Array([0x3c00]));
    expect(tensorToArray(bits)).toEqual(new Float32Array([1]));
    const b = makeTensor("b", DataType.BFLOAT16, [1], [2]);
    expect(tensorToArray(b)).toEqual(new Float32Array([2]));
  });

  it("reads the typed fields ONNX uses when raw_data is absent", () => {
    const typed = (dataType: number, dims: number[], fields: Partial<TensorProto>): TensorProto => ({ ...emptyTensor(), dataType, dims, ...fields });
    expect(tensorToArray(typed(DataType.FLOAT, [2], { floatData: [1.5, 2] }))).toEqual(new Float32Array([1.5, 2]));
    expect(tensorToArray(typed(DataType.INT64, [2], { int64Data: [-1n, 2n ** 40n] }))).toEqual(new BigInt64Array([-1n, 2n ** 40n]));
    expect(tensorToArray(typed(DataType.UINT32, [1], { uint64Data: [4294967295n] }))).toEqual(new Uint32Array([4294967295]));
    expect(tensorToArray(typed(DataType.FLOAT16, [1], { int32Data: [0x3c00] }))).toEqual(new Float32Array([1]));
    expect(tensorToArray(typed(DataType.BOOL, [3], { int32Data: [1, 0, 1] }))).toEqual(new Uint8Array([1, 0, 1]));
    expect(tensorToArray(typed(DataType.INT4, [3], { int32Data: [0xf8, 0x01] }))).toEqual(new Int8Array([-8, -1, 1]));
    expect(tensorToArray(typed(DataType.DOUBLE, [1], { doubleData: [0.1] }))).toEqual(new Float64Array([0.1]));
    expect(tensorToArray(typed(DataType.COMPLEX64, [1], { floatData: [1, -1] }))).toEqual(new Float32Array([1, -1]));
    expect(tensorToArray(typed(DataType.STRING, [2], { stringData: [new TextEncoder().encode("a"), new Uint8Array([0xc3, 0xa9])] }))).toEqual(["a", "é"]);
    // Same bytes whichever field held them.
    expect(tensorRawBytes(typed(DataType.FLOAT, [2], { floatData: [1.5, 2] }))).toEqual(makeTensor("x", DataType.FLOAT, [2], [1.5, 2]).rawData);
  });

  it("refuses data that does not match the declared shape", () => {
    const bad = { ...makeTensor("w", DataType.FLOAT, [4], [1, 2, 3, 4]), dims: [5] };
    expect(() => tensorToArray(bad)).toThrow(InvalidTensorError);
    expect(() => tensorToArray({ ...emptyTensor(), name: "f", dataType: DataType.FLOAT, dims: [3], floatData: [1] })).toThrow(
      /tensor "f" declares shape \[3\] \(3 values in float_data\) but float_data holds 1/,
    );
    expect(() => tensorToArray({ ...emptyTensor(), name: "n", dataType: DataType.FLOAT, dims: [-1] })).toThrow(/invalid shape \[-1\]/);
    expect(() => makeTensor("w", DataType.FLOAT, [2, 2], [1, 2, 3])).toThrow(/needs 4 values, got 3/);
    expect(() => makeTensorFromBytes("w", DataType.FLOAT, [2], new Uint8Array(7))).toThrow(/needs 8 bytes, got 7/);
    expect(() => tensorToArray({ ...emptyTensor(), name: "x", dataType: 99, dims: [1], rawData: new Uint8Array(1) })).toThrow(/DataType\(99\)/);
  });

  it("refuses a shape its typed field does not fill before allocating the shape's bytes", () => {
    // 10^9 floats (4 GB) declared, one given: refused without the 4 GB buffer.
    const before = process.memoryUsage().rss;
    const liar = { ...emptyTensor(), name: "big", dataType: DataType.FLOAT, dims: [1_000_000_000], floatData: [1] };
    expect(() => tensorToArray(liar)).toThrow(/tensor "big" declares shape \[1000000000\] \(1000000000 values in float_data\) but float_data holds 1/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it("returns arrays that do not share memory with the tensor", () => {
    const t = makeTensor("w", DataType.FLOAT, [2], [1, 2]);
    const a = tensorToArray(t) as Float32Array;
    a[0] = 42;
    expect(tensorToArray(t)).toEqual(new Float32Array([1, 2]));
  });
});
