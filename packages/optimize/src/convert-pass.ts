/**
 * The `convert` pass: float32 → float16 for weights and computation.
 *
 * - Every FLOAT initializer and constant becomes FLOAT16; finite values beyond
 *   the float16 range are clamped to ±65504 (so a "minus infinity" mask stays
 *   a large finite number), and `Cast(to: FLOAT)` becomes `Cast(to: FLOAT16)`.
 * - Except what reads no float activation at all — computations on integer
 *   inputs and small constants, such as rotary angles from position ids and
 *   the attention mask: that stays fp32 (in fp16, position 2000 × a frequency
 *   is off by up to a radian) and is clipped to the fp16 range and cast where
 *   the fp16 graph uses it.
 * - Operators listed in `keep-ops` still compute in fp32: their float inputs
 *   are cast up and their float outputs cast back down.
 * - With `keep-io-types` (the default) float graph inputs and outputs stay
 *   fp32, with Casts at the edges, so callers need no change.
 *
 * - A merged decoder (Optimum's `If` on `use_cache_branch`) is converted
 *   branch by branch, each as the decoder it is; the weights both branches
 *   read are converted once.
 *
 * Other graphs with control flow (If, Loop, Scan) are refused rather than half converted.
 */
import { ConfigurationError } from "@slmops/diagnostics";
import { DataType, attr, makeAttribute, type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from "@slmops/onnx";
import { inferElementTypes } from "./element-types.js";
import { FLOAT16_MAX } from "./float16.js";
import { NameScope, graphOf, node } from "./graph.js";
import { USE_CACHE_BRANCH, mergedDecoderBranches } from "./merged-decoder.js";
import type { NormalizedPass } from "./pass-options.js";
import type { TensorProgress } from "./quantize-pass.js";
import { floatTensor, readFloats } from "./tensors.js";

export type ConvertPass = Extract<NormalizedPass, { name: "convert" }>;

export interface ConvertStats {
  readonly initializersConverted: number;
  readonly nodesKeptInFp32: number;
  readonly castsAdded: number;
}

const CONTROL_FLOW = new Set(["If", "Loop", "Scan"]);
/** Operators that only take float32 inputs, so they always stay in fp32. */
const FP32_ONLY = new Set(["DynamicQuantizeLinear"]);

/**
 * What the branches of a merged decoder share: the main graph's weights,
 * inputs and outputs. Converting a branch only notes what it would change
 * in them, so that the next branch is analysed on the same fp32 graph; the
 * changes are made once, after every branch.
 */
interface SharedConversion {
  readonly tensors: ReadonlySet<TensorProto>;
  readonly values: ReadonlySet<ValueInfoProto>;
  /** Shared weights a branch converts, and those a branch's fp32 region reads (kept fp32). */
  readonly convert: Set<TensorProto>;
  readonly keep: Set<TensorProto>;
  /** Shared inputs and outputs that become fp16 (`keep-io-types: false`). */
  readonly narrow: Set<ValueInfoProto>;
}

/** Runs the convert pass on `model` in place. */
export function convertToFloat16(model: ModelProto, pass: ConvertPass, onTensor?: TensorProgress): ConvertStats {
  const merged = mergedDecoderBranches(model);
  if (merged) return convertMergedDecoder(model, merged, pass, onTensor);
  return convertGraph(model, pass, onTensor);
}

function convertGraph(model: ModelProto, pass: ConvertPass, onTensor?: TensorProgress, shared?: SharedConversion): ConvertStats {
  const graph = graphOf(model);
  for (const n of graph.node) {
    if (CONTROL_FLOW.has(n.opType ?? "")) {
      throw new ConfigurationError(`convert to fp16 does not handle control flow yet (node ${n.name ?? ""} is ${n.opType}); leave this model in fp32`);
    }
    if (n.opType === "MatMulInteger") {
      throw new ConfigurationError(
        "convert to fp16 after int8 quantization is not supported (int8 layers compute in integers and rescale in fp32); use one or the other",
      );
    }
  }
  const types = inferElementTypes(graph);
  const isFloat = (name: string) => name !== "" && types.get(name) === DataType.FLOAT;
  const names = new NameScope(graph);
  const keep = new Set([...pass.keepOps, ...FP32_ONLY]);
  let casts = 0;
  let kept = 0;

  // 0. The fp32 region: nodes that read no float activation — only integer
  //    inputs and small constants (position angles, attention masks). They
  //    stay in fp32, where large positions and "minus infinity" masks are
  //    exact, and their float results cross into fp16 through Clip + Cast.
  const region = fp32Region(graph, types);
  const regionValues = new Set<string>();
  for (const n of region) for (const o of n.output) if (isFloat(o)) regionValues.add(o);
  const regionInputs = new Set(region.flatMap((n) => n.input));
  for (const t of graph.initializer) {
    if (t.dataType === DataType.FLOAT && regionInputs.has(t.name ?? "")) regionValues.add(t.name ?? "");
  }

  // 1. Initializers (those the fp32 region reads stay fp32); shared ones are only noted.
  for (const t of graph.initializer) if (shared?.tensors.has(t) && t.dataType === DataType.FLOAT && regionValues.has(t.name ?? "")) shared.keep.add(t);
  const floatInitializers = graph.initializer.filter((t) => {
    if (t.dataType !== DataType.FLOAT || regionValues.has(t.name ?? "")) return false;
    if (!shared?.tensors.has(t)) return true;
    shared.convert.add(t);
    return false;
  });
  floatInitializers.forEach((t, i) => {
    Object.assign(t, toFloat16Tensor(t));
    onTensor?.({ tensor: t.name ?? "", done: i + 1, total: floatInitializers.length });
  });

  // 2. Nodes: retype constants and casts; wrap kept operators in Casts.
  const out: NodeProto[] = [];
  const upcast = new Map<string, string>(); // fp16 value → its fp32 copy, shared between kept nodes
  const downcast = new Map<string, string>(); // fp32 region value → its fp16 copy
  let bounds: [string, string] | undefined;
  const narrow = (x: string): string => {
    let down = downcast.get(x);
    if (!down) {
      if (!bounds) {
        bounds = [names.fresh("fp16_lowest"), names.fresh("fp16_highest")];
        graph.initializer.push(
          floatTensor(bounds[0], DataType.FLOAT, [], Float32Array.of(-FLOAT16_MAX)),
          floatTensor(bounds[1], DataType.FLOAT, [], Float32Array.of(FLOAT16_MAX)),
        );
      }
      const clipped = names.fresh(`${x}_clipped`);
      down = names.fresh(`${x}_fp16`);
      out.push(
        node("Clip", names.fresh(`${x}_Clip_fp16_range`), [x, ...bounds], [clipped]),
        node("Cast", names.fresh(`${x}_Cast_fp16`), [clipped], [down], { to: DataType.FLOAT16 }),
      );
      downcast.set(x, down);
      casts++;
    }
    return down;
  };
  const inRegion = new Set(region);
  for (const n of graph.node) {
    if (inRegion.has(n)) {
      out.push(n);
      continue;
    }
    n.input = n.input.map((x) => (regionValues.has(x) ? narrow(x) : x));
    retypeAttributes(n);
    if (!keep.has(n.opType ?? "")) {
      out.push(n);
      continue;
    }
    kept++;
    n.input = n.input.map((x) => {
      if (!isFloat(x)) return x;
      let up = upcast.get(x);
      if (!up) {
        up = names.fresh(`${x}_fp32`);
        out.push(node("Cast", names.fresh(`${x}_Cast_fp32`), [x], [up], { to: DataType.FLOAT }));
        upcast.set(x, up);
        casts++;
      }
      return up;
    });
    const after: NodeProto[] = [];
    n.output = n.output.map((y) => {
      if (!isFloat(y)) return y;
      const wide = names.fresh(`${y}_fp32`);
      after.push(node("Cast", names.fresh(`${y}_Cast_fp16`), [wide], [y], { to: DataType.FLOAT16 }));
      casts++;
      return wide;
    });
    out.push(n, ...after);
  }
  graph.node = out;

  // 3. Graph inputs and outputs.
  const prefix: NodeProto[] = [];
  for (const input of graph.input) {
    const name = input.name ?? "";
    const tensorType = input.type?.tensorType;
    if (!tensorType || tensorType.elemType !== DataType.FLOAT) continue;
    if (graph.initializer.some((t) => t.name === name)) continue; // an overridable initializer, already converted
    if (!pass.keepIoTypes) {
      if (shared?.values.has(input)) shared.narrow.add(input);
      else tensorType.elemType = DataType.FLOAT16;
      continue;
    }
    const narrow = names.fresh(`${name}_fp16`);
    renameUses(graph, name, narrow);
    prefix.push(node("Cast", names.fresh(`${name}_Cast_fp16`), [name], [narrow], { to: DataType.FLOAT16 }));
    casts++;
  }
  const suffix: NodeProto[] = [];
  for (const output of graph.output) {
    const name = output.name ?? "";
    const tensorType = output.type?.tensorType;
    if (!tensorType || tensorType.elemType !== DataType.FLOAT) continue;
    if (regionValues.has(name)) continue; // computed in fp32 already
    if (!pass.keepIoTypes) {
      if (shared?.values.has(output)) shared.narrow.add(output);
      else tensorType.elemType = DataType.FLOAT16;
      continue;
    }
    const narrow = names.fresh(`${name}_fp16`);
    for (const n of graph.node) {
      n.output = n.output.map((o) => (o === name ? narrow : o));
      n.input = n.input.map((x) => (x === name ? narrow : x));
    }
    suffix.push(node("Cast", names.fresh(`${name}_Cast_fp32`), [narrow], [name], { to: DataType.FLOAT }));
    casts++;
  }
  graph.node = [...prefix, ...graph.node, ...suffix];

  // 4. Intermediate value types: float outside the fp32 region is now float16.
  for (const v of graph.valueInfo) {
    const t = v.type?.tensorType;
    if (t?.elemType === DataType.FLOAT && !regionValues.has(v.name ?? "")) t.elemType = DataType.FLOAT16;
  }
  return { initializersConverted: floatInitializers.length, nodesKeptInFp32: kept, castsAdded: casts };
}

/**
 * Each branch of a merged decoder converted as a decoder of its own: its
 * nodes over the main graph's inputs, outputs and weights. Both branches are
 * analysed on the fp32 graph (keep-ops Casts and the fp32 region decided the
 * same way in each); the weights, inputs and outputs they share are then
 * converted once. What a branch adds (Casts, bounds) stays in that branch.
 */
function convertMergedDecoder(model: ModelProto, merged: NonNullable<ReturnType<typeof mergedDecoderBranches>>, pass: ConvertPass, onTensor?: TensorProgress): ConvertStats {
  const main = graphOf(model);
  const others = main.node.filter((n) => n !== merged.node);
  if (others.length > 0) {
    throw new ConfigurationError(`convert to fp16 handles a merged decoder whose main graph holds only its If; this one also has ${others.length} other node(s) (e.g. ${others[0]?.name ?? others[0]?.opType ?? ""}); leave it in fp32`);
  }
  const inputs = main.input.filter((i) => i.name !== USE_CACHE_BRANCH);
  const shared: SharedConversion = { tensors: new Set(main.initializer), values: new Set([...inputs, ...main.output]), convert: new Set(), keep: new Set(), narrow: new Set() };
  const total = { initializersConverted: 0, nodesKeptInFp32: 0, castsAdded: 0 };
  for (const branch of [merged.withPast, merged.noPast]) {
    const graph: GraphProto = { ...main, node: branch.node, initializer: [...main.initializer, ...branch.initializer], input: inputs, valueInfo: branch.valueInfo };
    const before = new Set(graph.initializer);
    const stats = convertGraph({ ...model, graph }, pass, onTensor, shared);
    branch.node = graph.node;
    branch.initializer = [...branch.initializer, ...graph.initializer.filter((t) => !before.has(t))];
    branch.valueInfo = graph.valueInfo;
    total.initializersConverted += stats.initializersConverted;
    total.nodesKeptInFp32 += stats.nodesKeptInFp32;
    total.castsAdded += stats.castsAdded;
  }
  const disputed = [...shared.convert].filter((t) => shared.keep.has(t));
  if (disputed.length > 0) {
    throw new ConfigurationError(
      `convert to fp16: the merged decoder's branches use the weight ${disputed[0]?.name ?? ""} differently (one computes with it in fp16, the other only in its fp32 position or mask computation); leave this model in fp32`,
    );
  }
  [...shared.convert].forEach((t, i) => {
    Object.assign(t, toFloat16Tensor(t));
    onTensor?.({ tensor: t.name ?? "", done: i + 1, total: shared.convert.size });
  });
  for (const v of shared.narrow) if (v.type?.tensorType) v.type.tensorType.elemType = DataType.FLOAT16;
  // The branches' outputs have the types the decoder's outputs now have.
  for (const branch of [merged.withPast, merged.noPast]) {
    branch.output = branch.output.map((o) => ({ ...o, type: main.output.find((m) => m.name === o.name)?.type ?? o.type }));
  }
  return { ...total, initializersConverted: total.initializersConverted + shared.convert.size };
}

/** Vectors up to this many elements may feed the fp32 region; larger float tensors, and every matrix, are weights. */
const SMALL_CONSTANT = 1 << 16;

/**
 * Nodes that read no float activation: every input is an integer value, a
 * small float constant, or the output of another such node. Float graph
 * inputs and large float initializers (weights) are activations' sources.
 */
function fp32Region(graph: GraphProto, types: ReadonlyMap<string, number>): NodeProto[] {
  // Float16 counts as float too (a model converted in part, or fed fp16).
  const floating = (type: number | undefined) => type === DataType.FLOAT || type === DataType.FLOAT16;
  const tainted = new Set<string>();
  for (const i of graph.input) if (floating(i.type?.tensorType?.elemType) && i.name) tainted.add(i.name);
  for (const t of graph.initializer) {
    const count = t.dims.reduce((a, b) => a * b, 1);
    // A matrix is a weight however small (a small model's projections); vectors and scalars are constants.
    if (floating(t.dataType) && (t.dims.length >= 2 || count > SMALL_CONSTANT) && t.name) tainted.add(t.name);
  }
  const region: NodeProto[] = [];
  for (const n of graph.node) {
    if (n.input.some((x) => tainted.has(x))) {
      for (const o of n.output) if (floating(types.get(o))) tainted.add(o);
    } else {
      region.push(n);
    }
  }
  return region;
}

function renameUses(graph: GraphProto, from: string, to: string): void {
  for (const n of graph.node) n.input = n.input.map((x) => (x === from ? to : x));
}

function toFloat16Tensor(t: TensorProto): TensorProto {
  const values = readFloats(t);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > FLOAT16_MAX) values[i] = FLOAT16_MAX;
    else if (v < -FLOAT16_MAX) values[i] = -FLOAT16_MAX;
  }
  const converted = floatTensor(t.name ?? "", DataType.FLOAT16, t.dims, values);
  return { ...t, ...converted, floatData: [], dataLocation: 0, externalData: [] };
}

/** Float types inside a node's attributes: Cast targets and constant values. */
function retypeAttributes(n: NodeProto): void {
  const op = n.opType ?? "";
  const inDefault = n.domain === undefined || n.domain === "" || n.domain === "ai.onnx";
  if (!inDefault) return;
  for (const a of n.attribute) {
    if (op === "Cast" && a.name === "to" && a.i === BigInt(DataType.FLOAT)) a.i = BigInt(DataType.FLOAT16);
    if ((op === "Constant" || op === "ConstantOfShape") && a.name === "value" && a.t?.dataType === DataType.FLOAT) {
      a.t = toFloat16Tensor(a.t);
    }
  }
  if (op === "Constant") {
    const index = n.attribute.findIndex((a) => a.name === "value_float" || a.name === "value_floats");
    if (index >= 0) {
      const a = n.attribute[index]!;
      const values = a.name === "value_float" ? Float32Array.of(a.f ?? 0) : Float32Array.from(a.floats);
      const dims = a.name === "value_float" ? [] : [values.length];
      n.attribute[index] = tensorAttribute("value", toFloat16Tensor(floatTensor("", DataType.FLOAT, dims, values)));
    }
  }
  if (op === "ConstantOfShape" && !n.attribute.some((a) => a.name === "value")) {
    // The default value is a float32 zero.
    n.attribute.push(tensorAttribute("value", floatTensor("", DataType.FLOAT16, [1], Float32Array.of(0))));
  }
}

function tensorAttribute(name: string, t: TensorProto): AttributeProto {
  return makeAttribute(name, attr.tensor(t));
}
