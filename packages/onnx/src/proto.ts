/**
 * TypeScript shapes of the ONNX protobuf messages (IR version 11).
 *
 * Conventions, the same for every message:
 * - field names are the `.proto` names in camelCase (`op_type` → `opType`);
 * - a singular field is optional: absent means "not on the wire" (proto2
 *   presence), and decoding keeps that distinction so models round-trip;
 * - a repeated field is always an array (empty when absent);
 * - `bytes` are `Uint8Array`;
 * - int64 values are `number` (checked to be exact) except where ONNX
 *   stores arbitrary 64-bit data — `AttributeProto.i`/`ints` and
 *   `TensorProto.int64Data`/`uint64Data` — which are `bigint`.
 */

/** `TensorProto.DataType` values. See `data-type.ts` for sizes and names. */
export type DataTypeCode = number;

export interface StringStringEntryProto {
  key?: string;
  value?: string;
}

export interface OperatorSetIdProto {
  /** Empty or absent means the default `ai.onnx` domain. */
  domain?: string;
  version?: number;
}

export interface TensorSegment {
  begin?: number;
  end?: number;
}

export interface TensorProto {
  dims: number[];
  /** A `DataType` code. */
  dataType?: DataTypeCode;
  segment?: TensorSegment;
  floatData: number[];
  int32Data: number[];
  stringData: Uint8Array[];
  int64Data: bigint[];
  name?: string;
  docString?: string;
  /** Little-endian packed element data. */
  rawData?: Uint8Array;
  /** `location`, `offset`, `length`, `checksum` when `dataLocation` is EXTERNAL. */
  externalData: StringStringEntryProto[];
  /** 0 = DEFAULT (inline), 1 = EXTERNAL. */
  dataLocation?: number;
  doubleData: number[];
  uint64Data: bigint[];
  metadataProps: StringStringEntryProto[];
}

export interface SparseTensorProto {
  values?: TensorProto;
  indices?: TensorProto;
  dims: number[];
}

export interface TensorShapeDimension {
  /** Exactly one of `dimValue` and `dimParam` is set for a known or symbolic dimension; neither for unknown. */
  dimValue?: number;
  dimParam?: string;
  denotation?: string;
}

export interface TensorShapeProto {
  dim: TensorShapeDimension[];
}

export interface TypeProtoTensor {
  elemType?: DataTypeCode;
  shape?: TensorShapeProto;
}

export interface TypeProtoSequence {
  elemType?: TypeProto;
}

export interface TypeProtoMap {
  keyType?: DataTypeCode;
  valueType?: TypeProto;
}

export interface TypeProtoOptional {
  elemType?: TypeProto;
}

export interface TypeProtoSparseTensor {
  elemType?: DataTypeCode;
  shape?: TensorShapeProto;
}

export interface TypeProtoOpaque {
  domain?: string;
  name?: string;
}

/** At most one of the `*Type` members is set. */
export interface TypeProto {
  tensorType?: TypeProtoTensor;
  sequenceType?: TypeProtoSequence;
  mapType?: TypeProtoMap;
  optionalType?: TypeProtoOptional;
  sparseTensorType?: TypeProtoSparseTensor;
  opaqueType?: TypeProtoOpaque;
  denotation?: string;
}

export interface ValueInfoProto {
  name?: string;
  type?: TypeProto;
  docString?: string;
  metadataProps: StringStringEntryProto[];
}

/** `AttributeProto.AttributeType` values. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;
export type AttributeType = (typeof AttributeType)[keyof typeof AttributeType];

export interface AttributeProto {
  name?: string;
  refAttrName?: string;
  docString?: string;
  /** An `AttributeType` code. */
  type?: number;
  f?: number;
  i?: bigint;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  sparseTensor?: SparseTensorProto;
  tp?: TypeProto;
  floats: number[];
  ints: bigint[];
  strings: Uint8Array[];
  tensors: TensorProto[];
  graphs: GraphProto[];
  sparseTensors: SparseTensorProto[];
  typeProtos: TypeProto[];
}

export interface IntIntListEntryProto {
  key?: number;
  value: number[];
}

export interface SimpleShardedDimProto {
  dimValue?: number;
  dimParam?: string;
  numShards?: number;
}

export interface ShardedDimProto {
  axis?: number;
  simpleSharding: SimpleShardedDimProto[];
}

export interface ShardingSpecProto {
  tensorName?: string;
  device: number[];
  indexToDeviceGroupMap: IntIntListEntryProto[];
  shardedDim: ShardedDimProto[];
}

export interface NodeDeviceConfigurationProto {
  configurationId?: string;
  shardingSpec: ShardingSpecProto[];
  pipelineStage?: number;
}

export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  opType?: string;
  domain?: string;
  overload?: string;
  attribute: AttributeProto[];
  docString?: string;
  metadataProps: StringStringEntryProto[];
  deviceConfigurations: NodeDeviceConfigurationProto[];
}

export interface TensorAnnotation {
  tensorName?: string;
  quantParameterTensorNames: StringStringEntryProto[];
}

export interface GraphProto {
  node: NodeProto[];
  name?: string;
  initializer: TensorProto[];
  sparseInitializer: SparseTensorProto[];
  docString?: string;
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
  quantizationAnnotation: TensorAnnotation[];
  metadataProps: StringStringEntryProto[];
}

export interface TrainingInfoProto {
  initialization?: GraphProto;
  algorithm?: GraphProto;
  initializationBinding: StringStringEntryProto[];
  updateBinding: StringStringEntryProto[];
}

export interface FunctionProto {
  name?: string;
  input: string[];
  output: string[];
  attribute: string[];
  attributeProto: AttributeProto[];
  node: NodeProto[];
  docString?: string;
  opsetImport: OperatorSetIdProto[];
  domain?: string;
  overload?: string;
  valueInfo: ValueInfoProto[];
  metadataProps: StringStringEntryProto[];
}

export interface DeviceConfigurationProto {
  name?: string;
  numDevices?: number;
  device: string[];
}

export interface ModelProto {
  irVersion?: number;
  opsetImport: OperatorSetIdProto[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph?: GraphProto;
  metadataProps: StringStringEntryProto[];
  trainingInfo: TrainingInfoProto[];
  functions: FunctionProto[];
  configuration: DeviceConfigurationProto[];
}

/** `TensorProto.DataLocation` values. */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;
