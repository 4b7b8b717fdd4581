/**
 * TypeScript shapes of the ONNX protobuf messages (IR version 11).
 *
 * Conventions, the same for every message:
 * - field names are the `.proto` names in camelCase (`op_type` → `opType`);
 * - a singular field is optional: absent means "not on the wire" (proto2
 *   presence), and decoding keeps that distinction so models round-trip;
 * - a repeated field is always an array (empty when absent);
 * - `bytes` are `Uint8Array`;
 * - fields unknown to this schema are kept as raw bytes in `unknownFields`;
 * - int64 values are `number` (checked to be exact) except where ONNX
 *   stores arbitrary 64-bit data — `AttributeProto.i`/`ints` and
 *   `TensorProto.int64Data`/`uint64Data` — which are `bigint`.
 */

/**
 * Fields this schema does not know (from a newer ONNX), kept as their raw
 * wire bytes so that they survive a decode → encode round trip. Present only
 * on messages that had such fields.
 */
export interface UnknownFields {
  unknownFields?: Uint8Array[];
}

/** `TensorProto.DataType` values. See `data-type.ts` for sizes and names. */
export type DataTypeCode = number;

export interface StringStringEntryProto extends UnknownFields {
  key?: string;
  value?: string;
}

export interface OperatorSetIdProto extends UnknownFields {
  /** Empty or absent means the default `ai.onnx` domain. */
  domain?: string;
  version?: number;
}

export interface TensorSegment extends UnknownFields {
  begin?: number;
  end?: number;
}

export interface TensorProto extends UnknownFields {
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

export interface SparseTensorProto extends UnknownFields {
  values?: TensorProto;
  indices?: TensorProto;
  dims: number[];
}

export interface TensorShapeDimension extends UnknownFields {
  /** Exactly one of `dimValue` and `dimParam` is set for a known or symbolic dimension; neither for unknown. */
  dimValue?: number;
  dimParam?: string;
  denotation?: string;
}

export interface TensorShapeProto extends UnknownFields {
  dim: TensorShapeDimension[];
}

export interface TypeProtoTensor extends UnknownFields {
  elemType?: DataTypeCode;
  shape?: TensorShapeProto;
}

export interface TypeProtoSequence extends UnknownFields {
  elemType?: TypeProto;
}

export interface TypeProtoMap extends UnknownFields {
  keyType?: DataTypeCode;
  valueType?: TypeProto;
}

export interface TypeProtoOptional extends UnknownFields {
  elemType?: TypeProto;
}

export interface TypeProtoSparseTensor extends UnknownFields {
  elemType?: DataTypeCode;
  shape?: TensorShapeProto;
}

export interface TypeProtoOpaque extends UnknownFields {
  domain?: string;
  name?: string;
}

/** At most one of the `*Type` members is set. */
export interface TypeProto extends UnknownFields {
  tensorType?: TypeProtoTensor;
  sequenceType?: TypeProtoSequence;
  mapType?: TypeProtoMap;
  optionalType?: TypeProtoOptional;
  sparseTensorType?: TypeProtoSparseTensor;
  opaqueType?: TypeProtoOpaque;
  denotation?: string;
}

export interface ValueInfoProto extends UnknownFields {
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

export interface AttributeProto extends UnknownFields {
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

export interface IntIntListEntryProto extends UnknownFields {
  key?: number;
  value: number[];
}

export interface SimpleShardedDimProto extends UnknownFields {
  dimValue?: number;
  dimParam?: string;
  numShards?: number;
}

export interface ShardedDimProto extends UnknownFields {
  axis?: number;
  simpleSharding: SimpleShardedDimProto[];
}

export interface ShardingSpecProto extends UnknownFields {
  tensorName?: string;
  device: number[];
  indexToDeviceGroupMap: IntIntListEntryProto[];
  shardedDim: ShardedDimProto[];
}

export interface NodeDeviceConfigurationProto extends UnknownFields {
  configurationId?: string;
  shardingSpec: ShardingSpecProto[];
  pipelineStage?: number;
}

export interface NodeProto extends UnknownFields {
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

export interface TensorAnnotation extends UnknownFields {
  tensorName?: string;
  quantParameterTensorNames: StringStringEntryProto[];
}

export interface GraphProto extends UnknownFields {
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

export interface TrainingInfoProto extends UnknownFields {
  initialization?: GraphProto;
  algorithm?: GraphProto;
  initializationBinding: StringStringEntryProto[];
  updateBinding: StringStringEntryProto[];
}

export interface FunctionProto extends UnknownFields {
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

export interface DeviceConfigurationProto extends UnknownFields {
  name?: string;
  numDevices?: number;
  device: string[];
}

export interface ModelProto extends UnknownFields {
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
