/**
 * ONNX tensor element types (`TensorProto.DataType`): codes, names and how
 * many bits one element takes in `raw_data`.
 */

export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
  FLOAT8E8M0: 24,
  UINT2: 25,
  INT2: 26,
} as const;

/** The name of a data type, as ONNX spells it. */
export type DataTypeName = keyof typeof DataType;
/** A data type code. */
export type DataType = (typeof DataType)[DataTypeName];

const BITS: Readonly<Record<number, number>> = {
  [DataType.FLOAT]: 32,
  [DataType.UINT8]: 8,
  [DataType.INT8]: 8,
  [DataType.UINT16]: 16,
  [DataType.INT16]: 16,
  [DataType.INT32]: 32,
  [DataType.INT64]: 64,
  [DataType.BOOL]: 8,
  [DataType.FLOAT16]: 16,
  [DataType.DOUBLE]: 64,
  [DataType.UINT32]: 32,
  [DataType.UINT64]: 64,
  [DataType.COMPLEX64]: 64,
  [DataType.COMPLEX128]: 128,
  [DataType.BFLOAT16]: 16,
  [DataType.FLOAT8E4M3FN]: 8,
  [DataType.FLOAT8E4M3FNUZ]: 8,
  [DataType.FLOAT8E5M2]: 8,
  [DataType.FLOAT8E5M2FNUZ]: 8,
  [DataType.UINT4]: 4,
  [DataType.INT4]: 4,
  [DataType.FLOAT4E2M1]: 4,
  [DataType.FLOAT8E8M0]: 8,
  [DataType.UINT2]: 2,
  [DataType.INT2]: 2,
};

const NAMES: ReadonlyMap<number, DataTypeName> = new Map(
  (Object.entries(DataType) as [DataTypeName, number][]).map(([name, code]) => [code, name]),
);

/** Bits per element in `raw_data`, or undefined for STRING, UNDEFINED and unknown codes. */
export function elementBits(dataType: number): number | undefined {
  return BITS[dataType];
}

/**
 * Bytes per element, for types of at least one byte; sub-byte types (INT4,
 * UINT4, FLOAT4E2M1, INT2, UINT2) report a fraction (0.5, 0.25). Undefined
 * for STRING and unknown codes.
 */
export function elementSize(dataType: number): number | undefined {
  const bits = BITS[dataType];
  return bits === undefined ? undefined : bits / 8;
}

/** `FLOAT`, `INT64`, …; `DataType(42)` for codes this package does not know. */
export function dataTypeName(dataType: number): string {
  return NAMES.get(dataType) ?? `DataType(${dataType})`;
}

export function isKnownDataType(dataType: number): boolean {
  return NAMES.has(dataType);
}

/**
 * Bytes that `count` elements of `dataType` take in `raw_data` (sub-byte types
 * are packed, low bits first, and the last byte is padded). Exact, on bigint,
 * so that absurd element counts from untrusted files cannot overflow.
 */
export function rawByteLength(dataType: number, count: bigint): bigint | undefined {
  const bits = BITS[dataType];
  if (bits === undefined) return undefined;
  return (count * BigInt(bits) + 7n) / 8n;
}

/** Product of the dimensions, exact (bigint); throws on a negative or non-integer dimension. */
export function elementCount(dims: readonly number[]): bigint {
  let n = 1n;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`invalid dimension ${d}`);
    n *= BigInt(d);
  }
  return n;
}
