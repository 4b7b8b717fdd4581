/**
 * A small element-type inference over a graph: enough to know which values
 * are float tensors when the fp16 pass decides where Casts go. It reads the
 * declared types (inputs, outputs, value_info, initializers) and propagates
 * through nodes with per-operator rules; an unknown operator's outputs take
 * its first input's type, which holds for the elementwise and shape-moving
 * operators that make up most graphs.
 */
import { DataType, type GraphProto, type NodeProto } from "@slmops/onnx";
import { intAttribute } from "./graph.js";

const BOOL_OUT = new Set([
  "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf",
]);
const INT64_OUT = new Set(["Shape", "Size", "NonZero", "ArgMax", "ArgMin", "NonMaxSuppression"]);

/** Element type of each value name that can be worked out. */
export function inferElementTypes(graph: GraphProto): Map<string, number> {
  const types = new Map<string, number>();
  for (const v of [...graph.input, ...graph.valueInfo, ...graph.output]) {
    const t = v.type?.tensorType?.elemType;
    if (v.name && t !== undefined) types.set(v.name, t);
  }
  for (const t of graph.initializer) if (t.name && t.dataType !== undefined) types.set(t.name, t.dataType);
  for (const n of graph.node) {
    const outs = outputTypes(n, types);
    n.output.forEach((o, i) => {
      const t = outs[i];
      if (o !== "" && t !== undefined && !types.has(o)) types.set(o, t);
    });
  }
  return types;
}

function outputTypes(n: NodeProto, types: ReadonlyMap<string, number>): (number | undefined)[] {
  const inType = (i: number) => types.get(n.input[i] ?? "");
  const all = (t: number | undefined) => n.output.map(() => t);
  const domain = n.domain ?? "";
  const op = n.opType ?? "";
  if (domain === "" || domain === "ai.onnx") {
    if (op === "Cast") return all(intAttribute(n, "to"));
    if (op === "CastLike") return all(inType(1));
    if (BOOL_OUT.has(op)) return all(DataType.BOOL);
    if (INT64_OUT.has(op)) return all(DataType.INT64);
    if (op === "Constant") return all(constantType(n));
    if (op === "ConstantOfShape") {
      const value = n.attribute.find((a) => a.name === "value")?.t;
      return all(value?.dataType ?? DataType.FLOAT);
    }
    if (op === "Where") return all(inType(1));
    if (op === "TopK") return [inType(0), DataType.INT64];
    if (op === "DynamicQuantizeLinear") return [DataType.UINT8, DataType.FLOAT, DataType.UINT8];
    if (op === "MatMulInteger" || op === "ConvInteger") return all(DataType.INT32);
    if (op === "QuantizeLinear") return all(inType(2) ?? DataType.UINT8);
    if (op === "DequantizeLinear") return all(inType(1));
    if (op === "EyeLike" || op.startsWith("Random")) return all(intAttribute(n, "dtype") ?? DataType.FLOAT);
  }
  return all(inType(0));
}

function constantType(n: NodeProto): number | undefined {
  for (const a of n.attribute) {
    if (a.name === "value") return a.t?.dataType;
    if (a.name === "value_float" || a.name === "value_floats") return DataType.FLOAT;
    if (a.name === "value_int" || a.name === "value_ints") return DataType.INT64;
    if (a.name === "value_string" || a.name === "value_strings") return DataType.STRING;
  }
  return undefined;
}
