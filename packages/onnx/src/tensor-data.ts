/**
 * Tensor contents: typed arrays in, TensorProto out (`makeTensor`), and back
 * (`tensorToArray`, `tensorRawBytes`), from `raw_data` or the typed fields.
 */
import { endianness } from "node:os";
import { ConfigurationError, SlmopsError } from "@slmops/diagnostics";
import { DataType, dataTypeName, elementCount, rawByteLength } from "./data-type.js";
import { externalSourceOf, readExternalSource } from "./external-source.js";
import {
  bfloat16ToFloat32,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16,
  float4e2m1ToFloat32,
  float8e4m3fnToFloat32,
  float8e4m3fnuzToFloat32,
  float8e5m2ToFloat32,
  float8e5m2fnuzToFloat32,
  float8e8m0ToFloat32,
} from "./float-formats.js";
import { DataLocation, type TensorProto } from "./proto.js";

/** The array `tensorToArray` returns for each data type (see its doc). */
export type TensorArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[];

/** Data accepted by `makeTensor`. */
export type TensorInput =
  | TensorArray
  | readonly number[]
  | readonly bigint[]
  | readonly boolean[]
  | readonly string[]
  | readonly Uint8Array[];

const LITTLE_ENDIAN = endianness() === "LE";

/** A tensor whose data does not match its declared type and shape. */
export class InvalidTensorError extends ConfigurationError {}

function requireLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new SlmopsError("@slmops/onnx supports little-endian hosts only");
}

/** An empty TensorProto with every repeated field present. */
export function emptyTensor(): TensorProto {
  return {
    dims: [],
    floatData: [],
    int32Data: [],
    stringData: [],
    int64Data: [],
    externalData: [],
    doubleData: [],
    uint64Data: [],
    metadataProps: [],
  };
}

function label(tensor: TensorProto): string {
  return tensor.name ? `tensor "${tensor.name}"` : "an unnamed tensor";
}

/** Number of elements a tensor declares, exact (bigint). */
export function tensorElementCount(tensor: TensorProto): bigint {
  try {
    return elementCount(tensor.dims);
  } catch (error) {
    throw new InvalidTensorError(`${label(tensor)} has an invalid shape [${tensor.dims.join(", ")}]`, { cause: error });
  }
}

/** Bytes the tensor's data takes in raw_data, or undefined for STRING/unknown types. */
export function tensorByteLength(tensor: TensorProto): bigint | undefined {
  return rawByteLength(tensor.dataType ?? 0, tensorElementCount(tensor));
}

const MAX_ARRAY_BYTES = 2 ** 32; // well inside what V8 allows for one ArrayBuffer

/**
 * The tensor's data as little-endian bytes, exactly as `raw_data` would hold
 * it: from raw_data, from the typed fields, or from a lazily read external
 * file. Throws InvalidTensorError when the data does not match dims × type.
 */
export function tensorRawBytes(tensor: TensorProto): Uint8Array {
  requireLittleEndian();
  const dataType = tensor.dataType ?? 0;
  if (dataType === DataType.STRING) throw new InvalidTensorError(`${label(tensor)} is a STRING tensor; it has no raw bytes`);
  const expected = rawByteLength(dataType, tensorElementCount(tensor));
  if (expected === undefined) {
    throw new InvalidTensorError(`${label(tensor)} has data type ${dataTypeName(dataType)}, which this package cannot read`);
  }
  const check = (actual: number, where: string): void => {
    if (BigInt(actual) !== expected) {
      throw new InvalidTensorError(
        `${label(tensor)} declares shape [${tensor.dims.join(", ")}] of ${dataTypeName(dataType)} (${expected} bytes) but its ${where} holds ${actual} bytes`,
      );
    }
  };
  if (tensor.dataLocation === DataLocation.EXTERNAL) {
    const source = externalSourceOf(tensor);
    if (!source) {
      throw new InvalidTensorError(
        `${label(tensor)} keeps its data in an external file; read the model with readModel() so the file is checked and loaded`,
      );
    }
    check(source.length, "external data");
    return readExternalSource(source, tensor.name ?? "");
  }
  if (tensor.rawData !== undefined) {
    check(tensor.rawData.byteLength, "raw_data");
    return tensor.rawData;
  }
  if (expected > BigInt(MAX_ARRAY_BYTES)) throw new InvalidTensorError(`${label(tensor)} is too large (${expected} bytes)`);
  const n = Number(tensorElementCount(tensor));
  const need = (values: readonly unknown[], count: number, field: string): void => {
    if (values.length !== count) {
      throw new InvalidTensorError(
        `${label(tensor)} declares shape [${tensor.dims.join(", ")}] (${count} values in ${field}) but ${field} holds ${values.length}`,
      );
    }
  };
  // Checked before the output is allocated: a shape that lies costs nothing.
  const [values, count, field] = typedField(tensor, dataType, n, Number(expected));
  need(values, count, field);
  const out = new Uint8Array(Number(expected));
  const view = new DataView(out.buffer);
  switch (dataType) {
    case DataType.FLOAT:
    case DataType.COMPLEX64: {
      const count = dataType === DataType.FLOAT ? n : 2 * n;
      need(tensor.floatData, count, "float_data");
      for (let i = 0; i < count; i++) view.setFloat32(4 * i, tensor.floatData[i]!, true);
      break;
    }
    case DataType.DOUBLE:
    case DataType.COMPLEX128: {
      const count = dataType === DataType.DOUBLE ? n : 2 * n;
      need(tensor.doubleData, count, "double_data");
      for (let i = 0; i < count; i++) view.setFloat64(8 * i, tensor.doubleData[i]!, true);
      break;
    }
    case DataType.INT64:
      need(tensor.int64Data, n, "int64_data");
      for (let i = 0; i < n; i++) view.setBigInt64(8 * i, tensor.int64Data[i]!, true);
      break;
    case DataType.UINT64:
      need(tensor.uint64Data, n, "uint64_data");
      for (let i = 0; i < n; i++) view.setBigUint64(8 * i, BigInt.asUintN(64, tensor.uint64Data[i]!), true);
      break;
    case DataType.UINT32:
      need(tensor.uint64Data, n, "uint64_data");
      for (let i = 0; i < n; i++) view.setUint32(4 * i, Number(BigInt.asUintN(32, tensor.uint64Data[i]!)), true);
      break;
    case DataType.INT32:
      need(tensor.int32Data, n, "int32_data");
      for (let i = 0; i < n; i++) view.setInt32(4 * i, tensor.int32Data[i]!, true);
      break;
    case DataType.INT16:
    case DataType.UINT16:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      need(tensor.int32Data, n, "int32_data");
      for (let i = 0; i < n; i++) view.setUint16(2 * i, tensor.int32Data[i]! & 0xffff, true);
      break;
    case DataType.INT4:
    case DataType.UINT4:
    case DataType.FLOAT4E2M1:
    case DataType.INT2:
    case DataType.UINT2:
      // Sub-byte types keep one packed byte per int32_data entry.
      need(tensor.int32Data, out.length, "int32_data");
      for (let i = 0; i < out.length; i++) out[i] = tensor.int32Data[i]! & 0xff;
      break;
    default: {
      // One byte per element: INT8, UINT8, BOOL and the float8 types.
      need(tensor.int32Data, n, "int32_data");
      for (let i = 0; i < n; i++) out[i] = tensor.int32Data[i]! & 0xff;
    }
  }
  return out;
}

/** The typed field holding a tensor's values when it has no raw_data, with the number of entries its shape needs. */
function typedField(tensor: TensorProto, dataType: number, n: number, bytes: number): [readonly unknown[], number, string] {
  switch (dataType) {
    case DataType.FLOAT:
      return [tensor.floatData, n, "float_data"];
    case DataType.COMPLEX64:
      return [tensor.floatData, 2 * n, "float_data"];
    case DataType.DOUBLE:
      return [tensor.doubleData, n, "double_data"];
    case DataType.COMPLEX128:
      return [tensor.doubleData, 2 * n, "double_data"];
    case DataType.INT64:
      return [tensor.int64Data, n, "int64_data"];
    case DataType.UINT64:
    case DataType.UINT32:
      return [tensor.uint64Data, n, "uint64_data"];
    case DataType.INT4:
    case DataType.UINT4:
    case DataType.FLOAT4E2M1:
    case DataType.INT2:
    case DataType.UINT2:
      return [tensor.int32Data, bytes, "int32_data"];
    default:
      return [tensor.int32Data, n, "int32_data"];
  }
}

function copyAs<T>(bytes: Uint8Array, make: (buffer: ArrayBuffer) => T): T {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return make(copy.buffer);
}

function unpackSubByte(bytes: Uint8Array, n: number, bits: number, signed: boolean): Int8Array | Uint8Array {
  const out = signed ? new Int8Array(n) : new Uint8Array(n);
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const signBit = 1 << (bits - 1);
  for (let i = 0; i < n; i++) {
    const byte = bytes[Math.floor(i / perByte)]!;
    let v = (byte >> ((i % perByte) * bits)) & mask;
    if (signed && v & signBit) v -= 1 << bits;
    out[i] = v;
  }
  return out;
}

function mapToFloat32(values: ArrayLike<number>, convert: (bits: number) => number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = convert(values[i]!);
  return out;
}

/**
 * The tensor's values as a flat typed array in row-major order:
 * FLOAT, FLOAT16, BFLOAT16, FLOAT8*, FLOAT4E2M1, FLOAT8E8M0 → Float32Array
 * (converted); DOUBLE → Float64Array; COMPLEX64/128 → Float32Array/Float64Array
 * of interleaved (re, im); INT4/INT2 → Int8Array and UINT4/UINT2 →
 * Uint8Array, one element per value; BOOL → Uint8Array (0/1); INT64/UINT64 →
 * BigInt64Array/BigUint64Array; STRING → string[] (UTF-8). The result never
 * shares memory with the tensor.
 */
export function tensorToArray(tensor: TensorProto): TensorArray {
  const dataType = tensor.dataType ?? 0;
  if (dataType === DataType.STRING) {
    const n = Number(tensorElementCount(tensor));
    if (tensor.stringData.length !== n) {
      throw new InvalidTensorError(`${label(tensor)} declares ${n} strings but string_data holds ${tensor.stringData.length}`);
    }
    const decoder = new TextDecoder();
    return tensor.stringData.map((s) => decoder.decode(s));
  }
  const bytes = tensorRawBytes(tensor);
  const n = Number(tensorElementCount(tensor));
  const u16 = (): Uint16Array => copyAs(bytes, (b) => new Uint16Array(b));
  switch (dataType) {
    case DataType.FLOAT:
    case DataType.COMPLEX64:
      return copyAs(bytes, (b) => new Float32Array(b));
    case DataType.DOUBLE:
    case DataType.COMPLEX128:
      return copyAs(bytes, (b) => new Float64Array(b));
    case DataType.INT8:
      return copyAs(bytes, (b) => new Int8Array(b));
    case DataType.UINT8:
    case DataType.BOOL:
      return copyAs(bytes, (b) => new Uint8Array(b));
    case DataType.INT16:
      return copyAs(bytes, (b) => new Int16Array(b));
    case DataType.UINT16:
      return u16();
    case DataType.INT32:
      return copyAs(bytes, (b) => new Int32Array(b));
    case DataType.UINT32:
      return copyAs(bytes, (b) => new Uint32Array(b));
    case DataType.INT64:
      return copyAs(bytes, (b) => new BigInt64Array(b));
    case DataType.UINT64:
      return copyAs(bytes, (b) => new BigUint64Array(b));
    case DataType.FLOAT16:
      return mapToFloat32(u16(), float16ToFloat32);
    case DataType.BFLOAT16:
      return mapToFloat32(u16(), bfloat16ToFloat32);
    case DataType.FLOAT8E4M3FN:
      return mapToFloat32(bytes, float8e4m3fnToFloat32);
    case DataType.FLOAT8E4M3FNUZ:
      return mapToFloat32(bytes, float8e4m3fnuzToFloat32);
    case DataType.FLOAT8E5M2:
      return mapToFloat32(bytes, float8e5m2ToFloat32);
    case DataType.FLOAT8E5M2FNUZ:
      return mapToFloat32(bytes, float8e5m2fnuzToFloat32);
    case DataType.FLOAT8E8M0:
      return mapToFloat32(bytes, float8e8m0ToFloat32);
    case DataType.FLOAT4E2M1:
      return mapToFloat32(unpackSubByte(bytes, n, 4, false), float4e2m1ToFloat32);
    case DataType.INT4:
      return unpackSubByte(bytes, n, 4, true);
    case DataType.UINT4:
      return unpackSubByte(bytes, n, 4, false);
    case DataType.INT2:
      return unpackSubByte(bytes, n, 2, true);
    case DataType.UINT2:
      return unpackSubByte(bytes, n, 2, false);
    default:
      throw new InvalidTensorError(`${label(tensor)} has data type ${dataTypeName(dataType)}, which this package cannot read`);
  }
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  const out = new Uint8Array(view.byteLength);
  out.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return out;
}

function packSubByte(values: ArrayLike<number>, bits: number, signed: boolean, what: string): Uint8Array {
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const min = signed ? -(1 << (bits - 1)) : 0;
  const max = signed ? (1 << (bits - 1)) - 1 : mask;
  const out = new Uint8Array(Math.ceil(values.length / perByte));
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${what} value ${v} at index ${i} is outside [${min}, ${max}]`);
    out[Math.floor(i / perByte)]! |= (v & mask) << ((i % perByte) * bits);
  }
  return out;
}

function numbers(data: TensorInput, what: string): ArrayLike<number> {
  if (Array.isArray(data)) {
    return data.map((v: unknown, i) => {
      if (typeof v === "number") return v;
      if (typeof v === "boolean") return v ? 1 : 0;
      if (typeof v === "bigint") return Number(v);
      throw new TypeError(`${what}: element ${i} is not a number`);
    });
  }
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, Number);
  return data as ArrayLike<number>;
}

function typed<T extends ArrayBufferView>(data: TensorInput, ctor: { new (n: number): T; from(a: ArrayLike<number>): T }, what: string): T {
  if (data instanceof (ctor as unknown as typeof Uint8Array)) return data as unknown as T;
  return ctor.from(numbers(data, what));
}

function bigints(data: TensorInput, unsigned: boolean, what: string): BigInt64Array | BigUint64Array {
  const out = unsigned ? new BigUint64Array(data.length) : new BigInt64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = (data as ArrayLike<unknown>)[i];
    if (typeof v === "bigint") out[i] = unsigned ? BigInt.asUintN(64, v) : BigInt.asIntN(64, v);
    else if (typeof v === "number" && Number.isSafeInteger(v)) out[i] = BigInt(v);
    else throw new TypeError(`${what}: element ${i} is not an integer`);
  }
  return out;
}

/** Raw little-endian bytes for `data` as `dataType` (see makeTensor for accepted inputs). */
export function encodeTensorData(dataType: number, data: TensorInput): Uint8Array {
  requireLittleEndian();
  const what = dataTypeName(dataType);
  switch (dataType) {
    case DataType.FLOAT:
    case DataType.COMPLEX64:
      return bytesOf(typed(data, Float32Array, what));
    case DataType.DOUBLE:
    case DataType.COMPLEX128:
      return bytesOf(typed(data, Float64Array, what));
    case DataType.INT8:
      return bytesOf(typed(data, Int8Array, what));
    case DataType.UINT8:
      return bytesOf(typed(data, Uint8Array, what));
    case DataType.BOOL:
      return Uint8Array.from(numbers(data, what), (v) => (v ? 1 : 0));
    case DataType.INT16:
      return bytesOf(typed(data, Int16Array, what));
    case DataType.UINT16:
      return bytesOf(typed(data, Uint16Array, what));
    case DataType.INT32:
      return bytesOf(typed(data, Int32Array, what));
    case DataType.UINT32:
      return bytesOf(typed(data, Uint32Array, what));
    case DataType.INT64:
      return bytesOf(bigints(data, false, what));
    case DataType.UINT64:
      return bytesOf(bigints(data, true, what));
    case DataType.FLOAT16:
    case DataType.BFLOAT16: {
      if (data instanceof Uint16Array) return bytesOf(data);
      const convert = dataType === DataType.FLOAT16 ? float32ToFloat16 : float32ToBfloat16;
      return bytesOf(Uint16Array.from(numbers(data, what), convert));
    }
    case DataType.INT4:
      return packSubByte(numbers(data, what), 4, true, what);
    case DataType.UINT4:
      return packSubByte(numbers(data, what), 4, false, what);
    case DataType.INT2:
      return packSubByte(numbers(data, what), 2, true, what);
    case DataType.UINT2:
      return packSubByte(numbers(data, what), 2, false, what);
    case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ:
    case DataType.FLOAT8E5M2:
    case DataType.FLOAT8E5M2FNUZ:
    case DataType.FLOAT8E8M0:
      if (data instanceof Uint8Array) return bytesOf(data);
      throw new TypeError(`${what} data must be given as a Uint8Array of bit patterns`);
    case DataType.FLOAT4E2M1:
      if (data instanceof Uint8Array) return packSubByte(data, 4, false, what);
      throw new TypeError(`${what} data must be given as a Uint8Array of 4-bit patterns, one per element`);
    default:
      throw new TypeError(`cannot make a tensor of data type ${what}`);
  }
}

/**
 * A TensorProto named `name` of `dataType` and shape `dims`, its data in
 * little-endian `raw_data` (STRING tensors use `string_data`).
 *
 * `data` is a typed array or a plain array with one element per value, in
 * row-major order: numbers for the numeric types (FLOAT16/BFLOAT16 also take a
 * Uint16Array of bit patterns; FLOAT8 types take a Uint8Array of bit
 * patterns; INT4/UINT4 take unpacked values and are packed here), bigints or
 * safe-integer numbers for INT64/UINT64, booleans or 0/1 for BOOL, strings or
 * UTF-8 bytes for STRING, interleaved (re, im) for COMPLEX types.
 */
export function makeTensor(name: string, dataType: DataType, dims: readonly number[], data: TensorInput): TensorProto {
  const tensor = emptyTensor();
  tensor.name = name;
  tensor.dataType = dataType;
  tensor.dims = [...dims];
  const count = elementCount(dims);
  const perValue = dataType === DataType.COMPLEX64 || dataType === DataType.COMPLEX128 ? 2n : 1n;
  if (BigInt(data.length) !== count * perValue) {
    throw new RangeError(`makeTensor("${name}"): shape [${dims.join(", ")}] needs ${count * perValue} values, got ${data.length}`);
  }
  if (dataType === DataType.STRING) {
    const encoder = new TextEncoder();
    tensor.stringData = Array.from(data as ArrayLike<unknown>, (s, i) => {
      if (typeof s === "string") return encoder.encode(s);
      if (s instanceof Uint8Array) return s;
      throw new TypeError(`makeTensor("${name}"): STRING element ${i} is neither a string nor bytes`);
    });
    return tensor;
  }
  tensor.rawData = encodeTensorData(dataType, data);
  return tensor;
}

/** A TensorProto from bytes already in raw_data layout (little-endian, sub-byte types packed). */
export function makeTensorFromBytes(name: string, dataType: DataType, dims: readonly number[], rawData: Uint8Array): TensorProto {
  const expected = rawByteLength(dataType, elementCount(dims));
  if (expected === undefined) throw new TypeError(`makeTensorFromBytes("${name}"): ${dataTypeName(dataType)} has no raw layout`);
  if (BigInt(rawData.byteLength) !== expected) {
    throw new RangeError(`makeTensorFromBytes("${name}"): shape [${dims.join(", ")}] needs ${expected} bytes, got ${rawData.byteLength}`);
  }
  const tensor = emptyTensor();
  tensor.name = name;
  tensor.dataType = dataType;
  tensor.dims = [...dims];
  tensor.rawData = rawData;
  return tensor;
}

