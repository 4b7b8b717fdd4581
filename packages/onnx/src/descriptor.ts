/**
 * The ONNX protobuf schema (package `onnx`, IR version 11, with the ONNX-ML
 * `Opaque` type) as a protobufjs JSON descriptor, loaded with
 * `protobuf.Root.fromJSON`. Field names follow the `.proto` file; protobufjs
 * exposes them in camelCase. proto2 semantics: every singular field has
 * presence, and only the fields ONNX marks `[packed = true]` are packed.
 *
 * Keeping the schema as data (rather than generated code) keeps it reviewable
 * in one place and lets the wire pre-scan (`wire-scan.ts`) walk the same
 * reflection the decoder uses.
 */
import type { INamespace } from "protobufjs";
import { DataType } from "./data-type.js";

type FieldSpec = { type: string; id: number; rule?: "repeated"; options?: Record<string, unknown> };

const f = (type: string, id: number): FieldSpec => ({ type, id });
const r = (type: string, id: number): FieldSpec => ({ type, id, rule: "repeated" });
const packed = (type: string, id: number): FieldSpec => ({ type, id, rule: "repeated", options: { packed: true } });

const ONNX_TYPES: Record<string, object> = {
        Version: {
          values: {
            _START_VERSION: 0,
            IR_VERSION_2017_10_10: 1,
            IR_VERSION_2017_10_30: 2,
            IR_VERSION_2017_11_3: 3,
            IR_VERSION_2019_1_22: 4,
            IR_VERSION_2019_3_18: 5,
            IR_VERSION_2019_9_19: 6,
            IR_VERSION_2020_5_8: 7,
            IR_VERSION_2021_7_30: 8,
            IR_VERSION_2023_5_5: 9,
            IR_VERSION_2024_3_25: 10,
            IR_VERSION: 11,
          },
        },
        AttributeProto: {
          fields: {
            name: f("string", 1),
            refAttrName: f("string", 21),
            docString: f("string", 13),
            type: f("AttributeType", 20),
            f: f("float", 2),
            i: f("int64", 3),
            s: f("bytes", 4),
            t: f("TensorProto", 5),
            g: f("GraphProto", 6),
            sparseTensor: f("SparseTensorProto", 22),
            tp: f("TypeProto", 14),
            floats: r("float", 7),
            ints: r("int64", 8),
            strings: r("bytes", 9),
            tensors: r("TensorProto", 10),
            graphs: r("GraphProto", 11),
            sparseTensors: r("SparseTensorProto", 23),
            typeProtos: r("TypeProto", 15),
          },
          reserved: [[12, 12], [16, 19], "v"],
          nested: {
            AttributeType: {
              values: {
                UNDEFINED: 0,
                FLOAT: 1,
                INT: 2,
                STRING: 3,
                TENSOR: 4,
                GRAPH: 5,
                SPARSE_TENSOR: 11,
                TYPE_PROTO: 13,
                FLOATS: 6,
                INTS: 7,
                STRINGS: 8,
                TENSORS: 9,
                GRAPHS: 10,
                SPARSE_TENSORS: 12,
                TYPE_PROTOS: 14,
              },
            },
          },
        },
        ValueInfoProto: {
          fields: {
            name: f("string", 1),
            type: f("TypeProto", 2),
            docString: f("string", 3),
            metadataProps: r("StringStringEntryProto", 4),
          },
        },
        NodeProto: {
          fields: {
            input: r("string", 1),
            output: r("string", 2),
            name: f("string", 3),
            opType: f("string", 4),
            domain: f("string", 7),
            overload: f("string", 8),
            attribute: r("AttributeProto", 5),
            docString: f("string", 6),
            metadataProps: r("StringStringEntryProto", 9),
            deviceConfigurations: r("NodeDeviceConfigurationProto", 10),
          },
        },
        IntIntListEntryProto: {
          fields: { key: f("int64", 1), value: r("int64", 2) },
        },
        NodeDeviceConfigurationProto: {
          fields: {
            configurationId: f("string", 1),
            shardingSpec: r("ShardingSpecProto", 2),
            pipelineStage: f("int32", 3),
          },
        },
        ShardingSpecProto: {
          fields: {
            tensorName: f("string", 1),
            device: r("int64", 2),
            indexToDeviceGroupMap: r("IntIntListEntryProto", 3),
            shardedDim: r("ShardedDimProto", 4),
          },
        },
        ShardedDimProto: {
          fields: { axis: f("int64", 1), simpleSharding: r("SimpleShardedDimProto", 2) },
        },
        SimpleShardedDimProto: {
          oneofs: { dim: { oneof: ["dimValue", "dimParam"] } },
          fields: { dimValue: f("int64", 1), dimParam: f("string", 2), numShards: f("int64", 3) },
        },
        TrainingInfoProto: {
          fields: {
            initialization: f("GraphProto", 1),
            algorithm: f("GraphProto", 2),
            initializationBinding: r("StringStringEntryProto", 3),
            updateBinding: r("StringStringEntryProto", 4),
          },
        },
        ModelProto: {
          fields: {
            irVersion: f("int64", 1),
            opsetImport: r("OperatorSetIdProto", 8),
            producerName: f("string", 2),
            producerVersion: f("string", 3),
            domain: f("string", 4),
            modelVersion: f("int64", 5),
            docString: f("string", 6),
            graph: f("GraphProto", 7),
            metadataProps: r("StringStringEntryProto", 14),
            trainingInfo: r("TrainingInfoProto", 20),
            functions: r("FunctionProto", 25),
            configuration: r("DeviceConfigurationProto", 26),
          },
        },
        DeviceConfigurationProto: {
          fields: { name: f("string", 1), numDevices: f("int32", 2), device: r("string", 3) },
        },
        StringStringEntryProto: {
          fields: { key: f("string", 1), value: f("string", 2) },
        },
        TensorAnnotation: {
          fields: {
            tensorName: f("string", 1),
            quantParameterTensorNames: r("StringStringEntryProto", 2),
          },
        },
        GraphProto: {
          fields: {
            node: r("NodeProto", 1),
            name: f("string", 2),
            initializer: r("TensorProto", 5),
            sparseInitializer: r("SparseTensorProto", 15),
            docString: f("string", 10),
            input: r("ValueInfoProto", 11),
            output: r("ValueInfoProto", 12),
            valueInfo: r("ValueInfoProto", 13),
            quantizationAnnotation: r("TensorAnnotation", 14),
            metadataProps: r("StringStringEntryProto", 16),
          },
          reserved: [[3, 4], [6, 9], "ir_version", "producer_version", "producer_tag", "domain"],
        },
        TensorProto: {
          fields: {
            dims: r("int64", 1),
            dataType: f("int32", 2),
            segment: f("Segment", 3),
            floatData: packed("float", 4),
            int32Data: packed("int32", 5),
            stringData: r("bytes", 6),
            int64Data: packed("int64", 7),
            name: f("string", 8),
            docString: f("string", 12),
            rawData: f("bytes", 9),
            externalData: r("StringStringEntryProto", 13),
            dataLocation: f("DataLocation", 14),
            doubleData: packed("double", 10),
            uint64Data: packed("uint64", 11),
            metadataProps: r("StringStringEntryProto", 16),
          },
          nested: {
            DataType: { values: { ...DataType } },
            Segment: {
              fields: { begin: f("int64", 1), end: f("int64", 2) },
            },
            DataLocation: {
              values: { DEFAULT: 0, EXTERNAL: 1 },
            },
          },
        },
        SparseTensorProto: {
          fields: {
            values: f("TensorProto", 1),
            indices: f("TensorProto", 2),
            dims: r("int64", 3),
          },
        },
        TensorShapeProto: {
          fields: { dim: r("Dimension", 1) },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ["dimValue", "dimParam"] } },
              fields: { dimValue: f("int64", 1), dimParam: f("string", 2), denotation: f("string", 3) },
            },
          },
        },
        TypeProto: {
          oneofs: {
            value: {
              oneof: ["tensorType", "sequenceType", "mapType", "optionalType", "sparseTensorType", "opaqueType"],
            },
          },
          fields: {
            tensorType: f("Tensor", 1),
            sequenceType: f("Sequence", 4),
            mapType: f("Map", 5),
            optionalType: f("Optional", 9),
            sparseTensorType: f("SparseTensor", 8),
            opaqueType: f("Opaque", 7),
            denotation: f("string", 6),
          },
          nested: {
            Tensor: { fields: { elemType: f("int32", 1), shape: f("TensorShapeProto", 2) } },
            Sequence: { fields: { elemType: f("TypeProto", 1) } },
            Map: { fields: { keyType: f("int32", 1), valueType: f("TypeProto", 2) } },
            Optional: { fields: { elemType: f("TypeProto", 1) } },
            SparseTensor: { fields: { elemType: f("int32", 1), shape: f("TensorShapeProto", 2) } },
            Opaque: { fields: { domain: f("string", 1), name: f("string", 2) } },
          },
        },
        OperatorSetIdProto: {
          fields: { domain: f("string", 1), version: f("int64", 2) },
        },
        OperatorStatus: {
          values: { EXPERIMENTAL: 0, STABLE: 1 },
        },
        FunctionProto: {
          fields: {
            name: f("string", 1),
            input: r("string", 4),
            output: r("string", 5),
            attribute: r("string", 6),
            attributeProto: r("AttributeProto", 11),
            node: r("NodeProto", 7),
            docString: f("string", 8),
            opsetImport: r("OperatorSetIdProto", 9),
            domain: f("string", 10),
            overload: f("string", 13),
            valueInfo: r("ValueInfoProto", 12),
            metadataProps: r("StringStringEntryProto", 14),
          },
          reserved: [[2, 3], "since_version", "status"],
        },
};

/**
 * protobufjs treats JSON-loaded types as proto3 unless told otherwise; ONNX is
 * proto2 (explicit presence, repeated fields unpacked unless marked).
 */
export const ONNX_DESCRIPTOR: INamespace = {
  nested: {
    onnx: {
      nested: Object.fromEntries(
        Object.entries(ONNX_TYPES).map(([name, spec]) => [name, { ...spec, edition: "proto2" }]),
      ) as INamespace["nested"],
    },
  },
};
