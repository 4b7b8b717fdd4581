/**
 * The `quantize` pass: rewrites every MatMul whose weight (input B) is a 2-D
 * float initializer.
 *
 * - int4, int8 → one `com.microsoft` `MatMulNBits` node (weight-only,
 *   block-wise, 4 or 8 bits): activations stay in float, so the outliers
 *   real checkpoints carry in their activations cost nothing.
 * - int8 with `activations: dynamic` → dynamic quantization, the form ONNX Runtime's own
 *   `quantize_dynamic` writes and its CPU provider fuses into one int8 GEMM:
 *   `DynamicQuantizeLinear(A)` → `MatMulInteger(A_q, W_q, A_zero)` → `Cast` →
 *   `Mul(A_scale · W_scale)`. Activations are quantized per tensor at run
 *   time (uint8), weights per output channel (symmetric int8, zero point 0),
 *   so the int8 weights stay int8 in memory and the product runs on integer
 *   kernels. (Weight-only QDQ would be more exact but dequantizes the whole
 *   weight to fp32 on every run, which costs more than it saves on a CPU.)
 *
 * Weights used elsewhere too (say, a tied embedding) are kept alongside.
 */
import { ConfigurationError } from "@slmops/diagnostics";
import { DataType, type ModelProto, type NodeProto, type TensorProto } from "@slmops/onnx";
import { MS_DOMAIN, NameScope, ensureOpset, graphOf, initializerMap, isOnnxOp, node, useCounts } from "./graph.js";
import { quantizeInt8PerChannel } from "./int8.js";
import { quantizeNBits } from "./matmul-nbits.js";
import type { NormalizedPass } from "./pass-options.js";
import { floatTensor, isFloatTensor, rawTensor, viewFloats } from "./tensors.js";

export type QuantizePass = Extract<NormalizedPass, { name: "quantize" }>;

/** Called after each weight tensor a pass finishes. */
export type TensorProgress = (event: { readonly tensor: string; readonly done: number; readonly total: number }) => void;

export interface QuantizeStats {
  /** Weights quantized. */
  readonly quantized: number;
  /** Parameters in those weights. */
  readonly parameters: number;
  /** MatMuls left as they were (excluded, or B not a 2-D float initializer). */
  readonly skipped: number;
}

interface Target {
  readonly node: NodeProto;
  readonly index: number;
  readonly weight: TensorProto;
}

/** Finds the MatMuls the pass rewrites. */
function findTargets(model: ModelProto, exclude: readonly string[]): { targets: Target[]; skipped: number } {
  const graph = graphOf(model);
  const initializers = initializerMap(graph);
  const graphInputs = new Set(graph.input.map((i) => i.name));
  const targets: Target[] = [];
  let skipped = 0;
  graph.node.forEach((n, index) => {
    if (!isOnnxOp(n, "MatMul")) return;
    const weight = initializers.get(n.input[1] ?? "");
    const eligible =
      weight !== undefined &&
      !graphInputs.has(weight.name) && // an input with a default can be overridden at run time
      weight.dims.length === 2 &&
      isFloatTensor(weight) &&
      !exclude.includes(n.name ?? "");
    if (eligible) targets.push({ node: n, index, weight });
    else skipped++;
  });
  return { targets, skipped };
}

/** Runs the quantize pass on `model` in place. */
export function quantizeModel(model: ModelProto, pass: QuantizePass, onTensor?: TensorProgress): QuantizeStats {
  const graph = graphOf(model);
  const { targets, skipped } = findTargets(model, pass.excludeNodes);
  if (targets.length === 0) {
    throw new ConfigurationError(
      "quantize found no MatMul with a constant 2-D float weight to quantize; the model may already be quantized, or every such node is in exclude-nodes",
    );
  }
  const uses = useCounts(graph);
  const names = new NameScope(graph);
  const replaced = new Map<number, NodeProto[]>();
  const added: TensorProto[] = [];
  const done = new Map<string, string[]>(); // weight name → names of its quantized tensors
  const dropped = new Set<string>();
  let parameters = 0;
  const shared = new Map<string, readonly string[]>(); // activation → DynamicQuantizeLinear outputs (int8)

  if (pass.activations === "none") ensureOpset(model, MS_DOMAIN, 1);
  const bits = pass.weights === "int4" ? 4 : 8;

  targets.forEach((t, i) => {
    const weightName = t.weight.name!;
    const [K, N] = t.weight.dims as [number, number];
    const baseName = weightName.replace(/[^A-Za-z0-9_.]/g, "_");
    const a = t.node.input[0]!;
    const y = t.node.output[0]!;
    const nodeName = t.node.name || names.fresh("MatMul");
    let tensors = done.get(weightName);

    if (pass.activations === "none") {
      if (!tensors) {
        const q = quantizeNBits(viewFloats(t.weight), K, N, {
          bits,
          blockSize: pass.blockSize,
          symmetric: pass.symmetric,
          method: pass.method,
          ...(pass.weighting ? { weighting: pass.weighting } : {}),
          ...(pass.biasWeight !== undefined ? { biasWeight: pass.biasWeight } : {}),
        });
        const bName = names.fresh(`${baseName}_Q${bits}`);
        const sName = names.fresh(`${baseName}_scales`);
        added.push(rawTensor(bName, DataType.UINT8, [N, q.kBlocks, q.blobSize], q.packed));
        // Scales have A's type; a FLOAT16 weight means an fp16 graph.
        added.push(floatTensor(sName, t.weight.dataType === DataType.FLOAT16 ? DataType.FLOAT16 : DataType.FLOAT, [N * q.kBlocks], q.scales));
        tensors = [bName, sName];
        if (q.zeroPoints) {
          const zName = names.fresh(`${baseName}_zero_points`);
          added.push(rawTensor(zName, DataType.UINT8, [q.zeroPoints.length], q.zeroPoints));
          tensors.push(zName);
        }
        done.set(weightName, tensors);
        parameters += K * N;
      }
      const attributes: Record<string, number> = { K, N, bits, block_size: pass.blockSize };
      if (pass.accuracyLevel !== undefined) attributes.accuracy_level = pass.accuracyLevel;
      replaced.set(t.index, [node("MatMulNBits", nodeName, [a, ...tensors], [y], attributes, MS_DOMAIN)]);
    } else {
      if (t.weight.dataType !== DataType.FLOAT) {
        throw new ConfigurationError(
          `int8 quantization needs fp32 weights, but ${weightName} is fp16; put the quantize pass before convert`,
        );
      }
      if (!tensors) {
        const q = quantizeInt8PerChannel(viewFloats(t.weight), K, N);
        const wName = names.fresh(`${baseName}_quantized`);
        const sName = names.fresh(`${baseName}_scale`);
        added.push(rawTensor(wName, DataType.INT8, [K, N], q.codes));
        added.push(rawTensor(sName, DataType.FLOAT, [N], q.scales));
        tensors = [wName, sName];
        done.set(weightName, tensors);
        parameters += K * N;
      }
      const [wName, sName] = tensors as [string, string];
      const nodes: NodeProto[] = [];
      let dq = shared.get(a);
      if (!dq) {
        const base = a.replace(/[^A-Za-z0-9_.]/g, "_");
        dq = [names.fresh(`${base}_quantized`), names.fresh(`${base}_scale`), names.fresh(`${base}_zero_point`)];
        nodes.push(node("DynamicQuantizeLinear", names.fresh(`${nodeName}_DynamicQuantizeLinear`), [a], dq));
        shared.set(a, dq);
      }
      const [aq, aScale, aZero] = dq as [string, string, string];
      const product = names.fresh(`${nodeName}_MatMulInteger_output`);
      const productFloat = names.fresh(`${nodeName}_Cast_output`);
      const scale = names.fresh(`${nodeName}_scale_product`);
      nodes.push(
        node("MatMulInteger", names.fresh(`${nodeName}_MatMulInteger`), [aq, wName, aZero], [product]),
        node("Cast", names.fresh(`${nodeName}_Cast`), [product], [productFloat], { to: DataType.FLOAT }),
        node("Mul", names.fresh(`${nodeName}_scale_Mul`), [aScale, sName], [scale]),
        node("Mul", names.fresh(`${nodeName}_output_Mul`), [productFloat, scale], [y]),
      );
      replaced.set(t.index, nodes);
    }
    const remaining = (uses.get(weightName) ?? 0) - 1;
    uses.set(weightName, remaining);
    if (remaining === 0) dropped.add(weightName);
    onTensor?.({ tensor: weightName, done: i + 1, total: targets.length });
  });

  // Rebuild the node list in order (shared DynamicQuantizeLinear nodes come first where the activation is first used).
  const nodes: NodeProto[] = [];
  graph.node.forEach((n, index) => nodes.push(...(replaced.get(index) ?? [n])));
  graph.node = nodes;
  graph.initializer = [...graph.initializer.filter((t) => !dropped.has(t.name ?? "")), ...added];
  graph.valueInfo = graph.valueInfo.filter((v) => !dropped.has(v.name ?? ""));
  return { quantized: done.size, parameters, skipped };
}
