/**
 * @slmops/onnx — read, build and write ONNX models (ModelProto), external
 * data included, treating every model file as untrusted input.
 */
export * from "./proto.js";
export {
  DataType,
  type DataTypeName,
  dataTypeName,
  elementBits,
  elementSize,
  elementCount,
  isKnownDataType,
  rawByteLength,
} from "./data-type.js";
export {
  decodeModel,
  decodeTensor,
  encodeModel,
  encodeTensor,
  encodeModelWith,
  InvalidModelError,
  ModelEncodeError,
  ModelProtoType,
  type DecodeOptions,
  type TensorReplacer,
} from "./codec.js";
export { DEFAULT_DECODE_LIMITS, type DecodeLimits } from "./wire-scan.js";
export {
  emptyTensor,
  encodeTensorData,
  InvalidTensorError,
  makeTensor,
  makeTensorFromBytes,
  tensorByteLength,
  tensorElementCount,
  tensorRawBytes,
  tensorToArray,
  type TensorArray,
  type TensorInput,
} from "./tensor-data.js";
export {
  attr,
  attributeValue,
  DEFAULT_IR_VERSION,
  emptyAttribute,
  findAttribute,
  getAttribute,
  IR_VERSION,
  makeAttribute,
  makeGraph,
  makeModel,
  makeNode,
  makeOpsetId,
  makeTensorType,
  makeValueInfo,
  type AttributeReading,
  type AttributeValue,
  type GraphOptions,
  type ModelOptions,
  type NodeOptions,
  type ShapeDim,
  type TypedAttribute,
} from "./builders.js";
export {
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
export { readModel, writeModel, type ExternalDataOptions, type ReadModelOptions, type WriteModelOptions, type WriteModelResult } from "./model-file.js";
export { checkExternalData, checkLocationSyntax, ExternalDataError, type ExternalDataCheckOptions } from "./external-data.js";
export { externalSourceOf, type ExternalSource } from "./external-source.js";
export { forEachGraph, forEachTensor, visitGraphTensors, type TensorPlace, type TensorVisitor } from "./visit.js";
