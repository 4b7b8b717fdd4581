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
import { withHessians, type ActivationSpec, type Calibration, type KeptRows } from "./calibration.js";
import { compareLogits } from "./metrics.js";
import { columnOutputErrors, gptqFactor, quantizeGptq } from "./gptq.js";
import { openMatrixProduct, type Multiply } from "./matrix-product.js";
import { dequantizeNBits, mixColumns, quantizeNBits, type NBitsWeight } from "./matmul-nbits.js";
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

function missingCalibration(weight: string): never {
  throw new Error(`internal: the gptq weight ${weight} was not quantized with its calibration Hessian first`);
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

/**
 * Runs the quantize pass on `model` in place. A `gptq` pass needs its
 * weights quantized beforehand ({@link quantizeModelCalibrated} does both).
 */
export function quantizeModel(model: ModelProto, pass: QuantizePass, onTensor?: TensorProgress, precomputed?: ReadonlyMap<string, NBitsWeight>): QuantizeStats {
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
        const method = pass.method;
        const q =
          precomputed?.get(weightName) ??
          (method === "gptq"
            ? missingCalibration(weightName)
            : quantizeNBits(viewFloats(t.weight), K, N, {
                bits,
                blockSize: pass.blockSize,
                symmetric: pass.symmetric,
                method,
                ...(pass.weighting ? { weighting: pass.weighting } : {}),
                ...(pass.biasWeight !== undefined ? { biasWeight: pass.biasWeight } : {}),
              }));
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

/**
 * Dampenings GPTQ is run with on each weight; the one whose result has the
 * least output error on the calibration activations is kept. On the maker's
 * fitted decoders the error was not monotone in the dampening (an LM head
 * whose features' variances span 500×: 4.1× round-to-nearest's output error
 * at 1%, 0.4× at 10%): large error updates push a block's later rows past
 * the scale chosen when it was entered, and the rows are clipped.
 */
export const GPTQ_DAMPENINGS = [0.01, 0.1] as const;

/**
 * GPTQ for one weight, made robust. The candidates: GPTQ at each of
 * {@link GPTQ_DAMPENINGS}, and round-to-nearest and the error-minimizing
 * search as they are. Each output column of a MatMulNBits weight is stored
 * and computed apart from the others, so each column is taken from the
 * candidate with the least error on it:
 *
 * - a hidden layer: the column's output error on the calibration
 *   activations, dₙᵀ·H·dₙ ({@link columnOutputErrors}) — so no column, and
 *   no weight, has more output error than round-to-nearest gives it;
 * - the model's output head (its logits), with the rows `head` of its input
 *   kept: the column's logit error weighted by the token's probability,
 *   Σₜ pₙ(t)·δₙ(t)² (the diagonal of KL's second-order expansion), and the
 *   mix is kept only if its KL on those rows is below every whole
 *   candidate's (else the best whole candidate is).
 */
async function calibratedWeight(
  weight: Float32Array,
  K: number,
  N: number,
  hessian: Float64Array,
  options: { bits: 4 | 8; blockSize: number; symmetric: boolean },
  multiply: Multiply,
  factors: readonly Float64Array[],
  head?: KeptRows,
): Promise<NBitsWeight> {
  const candidates: NBitsWeight[] = [];
  for (const [i, dampening] of GPTQ_DAMPENINGS.entries()) candidates.push(await quantizeGptq(weight, K, N, hessian, { ...options, dampening, factor: factors[i]! }, multiply));
  candidates.push(quantizeNBits(weight, K, N, { ...options, method: "rtn" }), quantizeNBits(weight, K, N, { ...options, method: "minimize-error" }));
  const dequantized = candidates.map((c) => dequantizeNBits(c));
  if (!head) {
    const h32 = Float32Array.from(hessian);
    const errors: Float64Array[] = [];
    for (const q of dequantized) errors.push(await columnOutputErrors(weight, q, K, N, h32, multiply));
    return mixColumns(candidates, leastPerColumn(errors, N));
  }
  const reference = await multiply(head.data, weight, head.rows, K, N);
  const probabilities = softmaxRows(reference, N);
  const logits: Float32Array[] = [];
  for (const q of dequantized) logits.push(await multiply(head.data, q, head.rows, K, N));
  const errors = logits.map((z) => {
    const e = new Float64Array(N);
    for (let i = 0; i < z.length; i++) {
      const d = z[i]! - reference[i]!;
      e[i % N]! += probabilities[i]! * d * d;
    }
    return e;
  });
  const mixed = mixColumns(candidates, leastPerColumn(errors, N));
  const whole = [mixed, ...candidates];
  const kl = [await multiply(head.data, dequantizeNBits(mixed), head.rows, K, N), ...logits].map((z) => compareLogits(reference, z, N).klDivergence);
  return whole[kl.indexOf(Math.min(...kl))]!;
}

/** For each column, the index of the candidate with the least error there. */
function leastPerColumn(errors: readonly Float64Array[], N: number): Int32Array {
  const choice = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    let least = Infinity;
    errors.forEach((e, i) => {
      if (e[n]! < least) {
        least = e[n]!;
        choice[n] = i;
      }
    });
  }
  return choice;
}

/** Row-wise softmax of [rows, N] logits. */
function softmaxRows(logits: Float32Array, N: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / N; r++) {
    let max = -Infinity;
    for (let n = 0; n < N; n++) max = Math.max(max, logits[r * N + n]!);
    let sum = 0;
    for (let n = 0; n < N; n++) sum += Math.exp(logits[r * N + n]! - max);
    for (let n = 0; n < N; n++) out[r * N + n] = Math.exp(logits[r * N + n]! - max) / sum;
  }
  return out;
}

/** Rows of the output head's activation kept to judge its candidates by KL. */
export const HEAD_CALIBRATION_ROWS = 1024;

/**
 * The quantize pass with `method: gptq`: the Hessians of the weights' input
 * activations over `calibration` ({@link withHessians}, in groups that fit
 * its memory budget), each weight quantized with {@link quantizeGptq} as its
 * group is ready, then the graph rewritten as for any block-wise method. A
 * weight read by several MatMuls is quantized once, against the activation of
 * the first.
 */
export async function quantizeModelCalibrated(
  model: ModelProto,
  pass: QuantizePass,
  calibration: Calibration,
  onTensor?: TensorProgress,
  options: { readonly budgetBytes?: number } = {},
): Promise<QuantizeStats> {
  if (pass.activations !== "none" || pass.method !== "gptq") throw new Error("internal: quantizeModelCalibrated is for block-wise gptq passes");
  const { targets } = findTargets(model, pass.excludeNodes);
  if (targets.length === 0) return quantizeModel(model, pass, onTensor); // says why
  const byActivation = new Map<string, Target[]>();
  const seen = new Set<string>();
  for (const t of targets) {
    if (t.weight.dataType !== DataType.FLOAT) {
      throw new ConfigurationError(`GPTQ needs fp32 weights, but ${t.weight.name} is not; put the quantize pass before convert`);
    }
    if (seen.has(t.weight.name!)) continue;
    seen.add(t.weight.name!);
    const a = t.node.input[0]!;
    byActivation.set(a, [...(byActivation.get(a) ?? []), t]);
  }
  // The output head: a MatMul whose output is a graph output (a decoder's logits).
  const graphOutputs = new Set(graphOf(model).output.map((o) => o.name));
  const headActivation = targets.find((t) => graphOutputs.has(t.node.output[0]))?.node.input[0];
  const activations: ActivationSpec[] = [...byActivation].map(([name, ts]) => ({
    name,
    features: ts[0]!.weight.dims[0] as number,
    ...(name === headActivation ? { keepRows: HEAD_CALIBRATION_ROWS } : {}),
  }));
  const bits = pass.weights === "int4" ? 4 : 8;
  const precomputed = new Map<string, NBitsWeight>();
  let done = 0;
  const product = await openMatrixProduct();
  try {
    await withHessians(
      model,
      activations,
      calibration,
      async (hessians, rows) => {
        for (const [name, hessian] of hessians) {
          const K = activations.find((a) => a.name === name)!.features;
          const factors = GPTQ_DAMPENINGS.map((dampening) => gptqFactor(hessian, K, dampening));
          for (const t of byActivation.get(name) ?? []) {
            const N = t.weight.dims[1] as number;
            const head = graphOutputs.has(t.node.output[0]) ? rows.get(name) : undefined;
            precomputed.set(t.weight.name!, await calibratedWeight(viewFloats(t.weight), K, N, hessian, { bits, blockSize: pass.blockSize, symmetric: pass.symmetric }, product.multiply, factors, head));
            onTensor?.({ tensor: t.weight.name!, done: ++done, total: seen.size });
          }
        }
      },
      { ...options, multiply: product.multiply, onSequence: (d, t) => onTensor?.({ tensor: "calibration text through ONNX Runtime", done: d, total: t }) },
    );
  } finally {
    await product.release();
  }
  return quantizeModel(model, pass, undefined, precomputed);
}
