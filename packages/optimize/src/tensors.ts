/**
 * Reading and making initializers as the passes need them: float weights in,
 * packed typed arrays out. Values are read from `raw_data` or the typed
 * `*_data` fields; external data must have been loaded by `readModel`.
 */
import { SlmopsError } from "@slmops/diagnostics";
import { DataType, makeTensorFromBytes, tensorRawBytes, type TensorProto } from "@slmops/onnx";
import { float16ToFloat32, float32ToFloat16 } from "./float16.js";

/** A tensor the pass cannot read (an internal expectation not met). */
export class TensorReadError extends SlmopsError {}

/** True for FLOAT and FLOAT16 tensors. */
export function isFloatTensor(t: TensorProto): boolean {
  return t.dataType === DataType.FLOAT || t.dataType === DataType.FLOAT16;
}

/** The values of a FLOAT or FLOAT16 tensor (inline or external data), as float32. */
export function readFloats(t: TensorProto): Float32Array {
  if (t.dataType !== DataType.FLOAT && t.dataType !== DataType.FLOAT16) {
    throw new TensorReadError(`initializer ${t.name ?? "(unnamed)"} is not a float tensor (data type ${t.dataType})`);
  }
  const bytes = tensorRawBytes(t);
  if (t.dataType === DataType.FLOAT) {
    const out = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const bits = new Uint16Array(bytes.byteLength / 2);
  new Uint8Array(bits.buffer).set(bytes);
  return float16ToFloat32(bits);
}

/**
 * The values of a FLOAT or FLOAT16 tensor for reading only: a view of its
 * bytes when they are aligned fp32 (no copy), else a converted copy. Never
 * write through it.
 */
export function viewFloats(t: TensorProto): Float32Array {
  if (t.dataType === DataType.FLOAT) {
    const bytes = tensorRawBytes(t);
    if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  return readFloats(t);
}

/** Bytes of a typed array, viewed without copying. */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A tensor with raw little-endian data (copied from the typed array's view). */
export function rawTensor(name: string, dataType: DataType, dims: readonly number[], data: ArrayBufferView): TensorProto {
  return makeTensorFromBytes(name, dataType, dims, bytesOf(data));
}

/** A FLOAT or FLOAT16 tensor from float32 values, in the given float type. */
export function floatTensor(name: string, dataType: DataType, dims: readonly number[], values: Float32Array): TensorProto {
  if (dataType === DataType.FLOAT16) return rawTensor(name, dataType, dims, float32ToFloat16(values));
  if (dataType === DataType.FLOAT) return rawTensor(name, dataType, dims, values);
  throw new TensorReadError(`cannot write float values as data type ${dataType}`);
}

/** Bytes of element data a tensor holds (raw or typed fields). */
export function tensorDataBytes(t: TensorProto): number {
  if (t.rawData) return t.rawData.byteLength;
  return (
    t.floatData.length * 4 +
    t.int32Data.length * 4 +
    t.int64Data.length * 8 +
    t.doubleData.length * 8 +
    t.uint64Data.length * 8 +
    t.stringData.reduce((a, s) => a + s.byteLength, 0)
  );
}
