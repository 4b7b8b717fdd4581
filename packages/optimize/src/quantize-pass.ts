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
import { DataType, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from "@slmops/onnx";
import { MS_DOMAIN, NameScope, ensureOpset, graphOf, matmulSites, node, useCounts } from "./graph.js";
import { quantizeInt8PerChannel } from "./int8.js";
import { withHessians, type ActivationSpec, type Calibration, type KeptRows } from "./calibration.js";
import { compareLogits } from "./metrics.js";
import { columnOutputErrors, gptqFactor, quantizeGptq } from "./gptq.js";
import { openMatrixProduct, type Multiply } from "./matrix-product.js";
import { dequantizeNBits, mixColumns, quantizeNBits, type NBitsWeight } from "./matmul-nbits.js";
import { withoutCacheBranch } from "./merged-decoder.js";
import { NodePatterns } from "./node-patterns.js";
import { describeOverride, describeSettings, type BlockSettings, type NormalizedOverride, type NormalizedPass } from "./pass-options.js";
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
  /** Block-wise passes with overrides (mixed precision): which MatMuls got which settings, the pass's own first. */
  readonly mixed?: readonly QuantizedNodes[];
}

interface Target {
  readonly node: NodeProto;
  /** The graph the node is in: the model's, or a nested one (a merged decoder's branch). */
  readonly graph: GraphProto;
  readonly index: number;
  readonly weight: TensorProto;
  /** The graph whose initializer the weight is: the node's own, or the model's (weights a merged decoder's branches share). */
  readonly owner: GraphProto;
  /** The weight's identity among the model's: its name, qualified by its graph when that is not the model's. */
  readonly weightId: string;
  /** How this MatMul's weight is quantized: the pass's settings or an override's (block-wise passes). */
  readonly settings: BlockSettings | undefined;
}

function missingCalibration(weight: string): never {
  throw new Error(`internal: the gptq weight ${weight} was not quantized with its calibration Hessian first`);
}

/** The key a quantized weight is kept under: a weight read by several MatMuls with the same settings is quantized once. */
function weightKey(weightId: string, settings: BlockSettings | undefined): string {
  return settings ? `${weightId}\u0000${settings.weights}/${settings.blockSize}/${settings.symmetric}/${settings.method}` : weightId;
}

/** How the MatMuls of a pass were quantized: its own settings, and each override with the nodes it took. */
export interface QuantizedNodes {
  /** `int4, block 32, zero points, gptq`, or the override's nodes and settings. */
  readonly settings: string;
  /** The MatMuls quantized so, by node name. */
  readonly nodes: readonly string[];
}

/**
 * Finds the MatMuls the pass rewrites, each with its settings. A name or
 * pattern in `exclude-nodes` or an override that selects no MatMul is a
 * mistake (a misspelt name would otherwise quietly quantize the node it meant
 * to spare), reported with some of the model's MatMul names.
 */
function findTargets(model: ModelProto, pass: QuantizePass): { targets: Target[]; skipped: number } {
  const main = graphOf(model);
  const overrides = pass.activations === "none" ? pass.overrides : [];
  const excluded = new NodePatterns(pass.excludeNodes, "exclude-nodes");
  const selectors = overrides.map((o, i) => new NodePatterns(o.nodes, `overrides[${i}].nodes`));
  const used = new Set<string>();
  const targets: Target[] = [];
  let skipped = 0;
  const matmuls = new Set<string>();
  for (const { node: n, graph, graphIndex, index, weight, owner } of matmulSites(main)) {
    const name = n.name ?? "";
    matmuls.add(name);
    const excludedBy = excluded.matching(name);
    for (const p of excludedBy) used.add(`exclude-nodes\u0000${p}`);
    // An input with a default can be overridden at run time.
    const isInput = weight !== undefined && [...main.input, ...graph.input].some((i) => i.name === weight.name);
    const eligible = weight !== undefined && !isInput && weight.dims.length === 2 && isFloatTensor(weight) && excludedBy.length === 0;
    if (!eligible) {
      skipped++;
      continue;
    }
    let settings: BlockSettings | undefined = pass.activations === "none" ? pass : undefined;
    for (const [i, o] of overrides.entries()) {
      const by = selectors[i]!.matching(name);
      if (by.length === 0) continue;
      for (const p of by) used.add(`overrides[${i}]\u0000${p}`);
      settings = o;
      break;
    }
    const weightId = owner === main ? weight.name! : `${graphIndex}\u0000${weight.name!}`;
    targets.push({ node: n, graph, index, weight, owner, weightId, settings });
  }
  const unused = [
    ...pass.excludeNodes.filter((p) => !used.has(`exclude-nodes\u0000${p}`)).map((p) => `exclude-nodes \`${p}\``),
    ...overrides.flatMap((o, i) => o.nodes.filter((p) => !used.has(`overrides[${i}]\u0000${p}`)).map((p) => `overrides[${i}] \`${p}\``)),
  ];
  if (unused.length > 0) {
    const some = [...matmuls].filter((m) => m !== "").slice(0, 4).map((m) => `\`${m}\``);
    throw new ConfigurationError(
      `quantize: ${unused.join(", ")} ${unused.length === 1 ? "selects" : "select"} no MatMul of the model ` +
        `(an earlier override or exclude-nodes may have taken them); its MatMul nodes are named like ${some.join(", ") || "(unnamed)"}: ` +
        "write a name or a pattern (`*` within a part, `**` across parts) that matches",
    );
  }
  return { targets, skipped };
}

/** Whether the pass calibrates: block-wise with `method: gptq`, for its own MatMuls or an override's. */
export function calibrates(pass: NormalizedPass): boolean {
  return pass.name === "quantize" && pass.activations === "none" && (pass.method === "gptq" || pass.overrides.some((o) => o.method === "gptq"));
}

/**
 * Runs the quantize pass on `model` in place. A `gptq` pass needs its
 * weights quantized beforehand ({@link quantizeModelCalibrated} does both).
 */
export function quantizeModel(model: ModelProto, pass: QuantizePass, onTensor?: TensorProgress, precomputed?: ReadonlyMap<string, NBitsWeight>): QuantizeStats {
  const graph = graphOf(model);
  const { targets, skipped } = findTargets(model, pass);
  if (targets.length === 0) {
    throw new ConfigurationError(
      "quantize found no MatMul with a constant 2-D float weight to quantize; the model may already be quantized, or every such node is in exclude-nodes",
    );
  }
  const uses = useCounts(graph);
  const names = new NameScope(graph);
  const replaced = new Map<GraphProto, Map<number, NodeProto[]>>();
  const added = new Map<GraphProto, TensorProto[]>(); // new tensors, in the graph the weight was in
  const dropped = new Map<GraphProto, Set<string>>();
  const addTo = (g: GraphProto, t: TensorProto) => added.set(g, [...(added.get(g) ?? []), t]);
  const replace = (t: Target, nodes: NodeProto[]) => {
    const inGraph = replaced.get(t.graph) ?? new Map<number, NodeProto[]>();
    inGraph.set(t.index, nodes);
    replaced.set(t.graph, inGraph);
  };
  const done = new Map<string, string[]>(); // weight key → names of its quantized tensors
  let parameters = 0;
  const shared = new Map<GraphProto, Map<string, readonly string[]>>(); // per graph: activation → DynamicQuantizeLinear outputs (int8)

  if (pass.activations === "none") ensureOpset(model, MS_DOMAIN, 1);
  const quantizedAs = new Map<BlockSettings, string[]>();

  targets.forEach((t, i) => {
    const weightName = t.weight.name!;
    const [K, N] = t.weight.dims as [number, number];
    const baseName = weightName.replace(/[^A-Za-z0-9_.]/g, "_");
    const a = t.node.input[0]!;
    const y = t.node.output[0]!;
    const nodeName = t.node.name || names.fresh("MatMul");
    const key = weightKey(t.weightId, t.settings);
    let tensors = done.get(key);

    if (pass.activations === "none") {
      const settings = t.settings ?? pass;
      const bits = settings.weights === "int4" ? 4 : 8;
      // A merged decoder's two branches name their nodes alike: each name once.
      const named = quantizedAs.get(settings) ?? [];
      if (!named.includes(nodeName)) quantizedAs.set(settings, [...named, nodeName]);
      if (!tensors) {
        const method = settings.method;
        const q =
          precomputed?.get(key) ??
          // Calibrated through a merged decoder's no-cache view, where a branch's own weight sits in the main graph.
          precomputed?.get(weightKey(weightName, t.settings)) ??
          (method === "gptq"
            ? missingCalibration(weightName)
            : quantizeNBits(viewFloats(t.weight), K, N, {
                bits,
                blockSize: settings.blockSize,
                symmetric: settings.symmetric,
                method,
                ...(pass.weighting ? { weighting: pass.weighting } : {}),
                ...(pass.biasWeight !== undefined ? { biasWeight: pass.biasWeight } : {}),
              }));
        const bName = names.fresh(`${baseName}_Q${bits}`);
        const sName = names.fresh(`${baseName}_scales`);
        addTo(t.owner, rawTensor(bName, DataType.UINT8, [N, q.kBlocks, q.blobSize], q.packed));
        // Scales have A's type; a FLOAT16 weight means an fp16 graph.
        addTo(t.owner, floatTensor(sName, t.weight.dataType === DataType.FLOAT16 ? DataType.FLOAT16 : DataType.FLOAT, [N * q.kBlocks], q.scales));
        tensors = [bName, sName];
        if (q.zeroPoints) {
          const zName = names.fresh(`${baseName}_zero_points`);
          addTo(t.owner, rawTensor(zName, DataType.UINT8, [q.zeroPoints.length], q.zeroPoints));
          tensors.push(zName);
        }
        done.set(key, tensors);
        parameters += K * N;
      }
      const attributes: Record<string, number> = { K, N, bits, block_size: settings.blockSize };
      if (settings.accuracyLevel !== undefined) attributes.accuracy_level = settings.accuracyLevel;
      replace(t, [node("MatMulNBits", nodeName, [a, ...tensors], [y], attributes, MS_DOMAIN)]);
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
        addTo(t.owner, rawTensor(wName, DataType.INT8, [K, N], q.codes));
        addTo(t.owner, rawTensor(sName, DataType.FLOAT, [N], q.scales));
        tensors = [wName, sName];
        done.set(key, tensors);
        parameters += K * N;
      }
      const [wName, sName] = tensors as [string, string];
      const nodes: NodeProto[] = [];
      const inGraph = shared.get(t.graph) ?? new Map<string, readonly string[]>();
      shared.set(t.graph, inGraph);
      let dq = inGraph.get(a);
      if (!dq) {
        const base = a.replace(/[^A-Za-z0-9_.]/g, "_");
        dq = [names.fresh(`${base}_quantized`), names.fresh(`${base}_scale`), names.fresh(`${base}_zero_point`)];
        nodes.push(node("DynamicQuantizeLinear", names.fresh(`${nodeName}_DynamicQuantizeLinear`), [a], dq));
        inGraph.set(a, dq);
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
      replace(t, nodes);
    }
    const remaining = (uses.get(weightName) ?? 0) - 1;
    uses.set(weightName, remaining);
    if (remaining === 0) dropped.set(t.owner, (dropped.get(t.owner) ?? new Set()).add(weightName));
    onTensor?.({ tensor: weightName, done: i + 1, total: targets.length });
  });

  // Rebuild each node list in order (shared DynamicQuantizeLinear nodes come first where the activation is first used).
  for (const [g, inGraph] of replaced) {
    const nodes: NodeProto[] = [];
    g.node.forEach((n, index) => nodes.push(...(inGraph.get(index) ?? [n])));
    g.node = nodes;
  }
  for (const g of new Set([...added.keys(), ...dropped.keys()])) {
    const gone = dropped.get(g) ?? new Set<string>();
    g.initializer = [...g.initializer.filter((t) => !gone.has(t.name ?? "")), ...(added.get(g) ?? [])];
    g.valueInfo = g.valueInfo.filter((v) => !gone.has(v.name ?? ""));
  }
  const mixed =
    pass.activations === "none" && pass.overrides.length > 0
      ? [pass, ...pass.overrides].map((s) => ({
          settings: s === pass ? describeSettings(s) : describeOverride(s as NormalizedOverride),
          nodes: quantizedAs.get(s) ?? [],
        }))
      : undefined;
  return { quantized: done.size, parameters, skipped, ...(mixed ? { mixed } : {}) };
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
  if (!calibrates(pass)) throw new Error("internal: quantizeModelCalibrated is for block-wise passes with gptq");
  // A merged decoder calibrates through its no-cache branch; what it learns of each weight serves both branches.
  const view = withoutCacheBranch(model);
  const { targets: all } = findTargets(view, pass);
  // Overrides may take some MatMuls to another method; only gptq's are calibrated here.
  const targets = all.filter((t) => t.settings?.method === "gptq");
  if (targets.length === 0) return quantizeModel(model, pass, onTensor); // says why, or quantizes the overrides
  const byActivation = new Map<string, Target[]>();
  const seen = new Set<string>();
  for (const t of targets) {
    if (t.weight.dataType !== DataType.FLOAT) {
      throw new ConfigurationError(`GPTQ needs fp32 weights, but ${t.weight.name} is not; put the quantize pass before convert`);
    }
    const key = weightKey(t.weightId, t.settings);
    if (seen.has(key)) continue;
    seen.add(key);
    const a = t.node.input[0]!;
    byActivation.set(a, [...(byActivation.get(a) ?? []), t]);
  }
  // The output head: a MatMul whose output is a graph output (a decoder's logits).
  const graphOutputs = new Set(graphOf(view).output.map((o) => o.name));
  const headActivation = targets.find((t) => graphOutputs.has(t.node.output[0]))?.node.input[0];
  const activations: ActivationSpec[] = [...byActivation].map(([name, ts]) => ({
    name,
    features: ts[0]!.weight.dims[0] as number,
    ...(name === headActivation ? { keepRows: HEAD_CALIBRATION_ROWS } : {}),
  }));
  const precomputed = new Map<string, NBitsWeight>();
  let done = 0;
  const product = await openMatrixProduct();
  try {
    await withHessians(
      view,
      activations,
      calibration,
      async (hessians, rows) => {
        for (const [name, hessian] of hessians) {
          const K = activations.find((a) => a.name === name)!.features;
          const factors = GPTQ_DAMPENINGS.map((dampening) => gptqFactor(hessian, K, dampening));
          for (const t of byActivation.get(name) ?? []) {
            const N = t.weight.dims[1] as number;
            const head = graphOutputs.has(t.node.output[0]) ? rows.get(name) : undefined;
            const s = t.settings!;
            const options = { bits: s.weights === "int4" ? (4 as const) : (8 as const), blockSize: s.blockSize, symmetric: s.symmetric };
            precomputed.set(weightKey(t.weightId, s), await calibratedWeight(viewFloats(t.weight), K, N, hessian, options, product.multiply, factors, head));
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
