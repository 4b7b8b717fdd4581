/**
 * Calibration for GPTQ: the Hessian H = E[x xᵀ] of each MatMul's input
 * activation x over calibration text, from running the model in ONNX
 * Runtime with those activations exposed as extra graph outputs.
 *
 * Only sums are kept, never the activations: one K×K float64 sum per
 * activation (MatMuls that read the same activation, as the query, key and
 * value projections do, share it). When all of them would take more than
 * `budgetBytes`, the activations are taken in groups that fit, and the
 * calibration text is run once per group, so peak memory stays near the
 * budget plus one session whatever the model's size.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";
import { DataType, encodeModel, type ModelProto } from "@slmops/onnx";
import { createSession, decoderFeeds, detectDecoder, emptyCache, type Session, type TensorData } from "@slmops/runtime";
import { graphOf } from "./graph.js";
import { externalDataFiles, saveModel } from "./model-io.js";
import { multiplyInJs, type Multiply } from "./matrix-product.js";

/** Token id sequences of calibration text, each run as one prefill from an empty cache. */
export interface Calibration {
  readonly sequences: readonly (readonly number[])[];
  /** Where the text came from, for messages and the variant's record (e.g. `data/calibration.jsonl`). */
  readonly source?: string;
}

/** An activation to collect: its name and its feature count K (the MatMul weight's rows). */
export interface ActivationSpec {
  readonly name: string;
  readonly features: number;
  /** Keep up to this many of its rows themselves too (the first ones seen), not only their sum. */
  readonly keepRows?: number;
}

/** The rows of an activation kept for {@link ActivationSpec.keepRows}: [rows, features]. */
export interface KeptRows {
  readonly data: Float32Array;
  readonly rows: number;
}

/** Default memory for the Hessians of one group: 512 MiB (the 100M preset's largest, 3072², is 72 MiB). */
export const DEFAULT_HESSIAN_BUDGET_BYTES = 512 * 1024 * 1024;

/** Splits `activations` into groups whose Hessians fit in `budgetBytes` (one that alone does not gets a group of its own). */
export function hessianGroups(activations: readonly ActivationSpec[], budgetBytes: number): ActivationSpec[][] {
  const groups: ActivationSpec[][] = [];
  let current: ActivationSpec[] = [];
  let used = 0;
  for (const a of activations) {
    const bytes = a.features * a.features * 8;
    if (current.length > 0 && used + bytes > budgetBytes) {
      groups.push(current);
      current = [];
      used = 0;
    }
    current.push(a);
    used += bytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** Adds Σ_t x_t x_tᵀ of `rows` rows of `x` ([rows, K]) to `h`, as Xᵀ·X through `multiply`. */
async function accumulate(h: Float64Array, x: Float32Array, rows: number, K: number, multiply: Multiply): Promise<void> {
  const xt = new Float32Array(K * rows);
  for (let r = 0; r < rows; r++) for (let k = 0; k < K; k++) xt[k * rows + r] = x[r * K + k]!;
  const product = await multiply(xt, x.subarray(0, rows * K), K, rows, K);
  for (let i = 0; i < K * K; i++) h[i]! += product[i]!;
}

/** Divides by `count` and makes the sum exactly symmetric (the mean of it and its transpose). */
function mirror(h: Float64Array, K: number, count: number): void {
  const f = count > 0 ? 0.5 / count : 0;
  for (let i = 0; i < K; i++) {
    for (let j = i; j < K; j++) {
      const v = (h[i * K + j]! + h[j * K + i]!) * f;
      h[i * K + j] = v;
      h[j * K + i] = v;
    }
  }
}

/**
 * A session on the model as it is now. Weights kept in external data (a
 * large export, or Optimum's merged decoder) are written beside a scratch
 * copy, since ONNX Runtime reads external data relative to a model file.
 */
async function openForCalibration(model: ModelProto): Promise<Session> {
  const options = { graphOptimizationLevel: "disabled" } as const;
  if (externalDataFiles(model).length === 0) return createSession(encodeModel(model), options);
  const dir = await mkdtemp(join(tmpdir(), "slmops-calibration-"));
  try {
    const path = join(dir, "model.onnx");
    await saveModel(model, path, true);
    return await createSession(path, options);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The Hessians of `activations` over `calibration`, one group at a time
 * ({@link hessianGroups}); each group's map is handed to `use` and let go
 * before the next group is collected. `model` is not changed.
 */
export async function withHessians(
  model: ModelProto,
  activations: readonly ActivationSpec[],
  calibration: Calibration,
  use: (hessians: ReadonlyMap<string, Float64Array>, rows: ReadonlyMap<string, KeptRows>) => void | Promise<void>,
  options: { readonly budgetBytes?: number; readonly onSequence?: (done: number, total: number) => void; readonly multiply?: Multiply } = {},
): Promise<void> {
  const multiply = options.multiply ?? multiplyInJs;
  const sequences = calibration.sequences.filter((s) => s.length > 0);
  if (sequences.length === 0) throw new ConfigurationError(`the calibration text${calibration.source ? ` (${calibration.source})` : ""} has no tokens; GPTQ needs text to calibrate on`);
  const groups = hessianGroups(activations, options.budgetBytes ?? DEFAULT_HESSIAN_BUDGET_BYTES);
  const graph = graphOf(model);
  const outputs = graph.output;
  let done = 0;
  const total = groups.length * sequences.length;
  for (const group of groups) {
    // The activations as extra graph outputs, for this group's session only.
    graph.output = [...outputs, ...group.filter((a) => !outputs.some((o) => o.name === a.name)).map((a) => ({ name: a.name, type: { tensorType: { elemType: DataType.FLOAT } }, metadataProps: [] }))];
    let session: Session;
    try {
      session = await openForCalibration(model);
    } finally {
      graph.output = outputs;
    }
    let sums: Map<string, Float64Array>;
    const kept = new Map<string, KeptRows>();
    try {
      const layout = detectDecoder(session);
      if (!layout) throw new ConfigurationError("GPTQ calibrates on text, so it needs a decoder (input_ids, attention_mask, past_key_values.{i}.key|value → logits, present.{i}.key|value); use method rtn or minimize-error for this model");
      sums = new Map(group.map((a) => [a.name, new Float64Array(a.features * a.features)]));
      const counts = new Map(group.map((a) => [a.name, 0]));
      for (const ids of sequences) {
        const out = await session.run(decoderFeeds(layout, ids, 0, emptyCache(layout)), group.map((a) => a.name));
        for (const a of group) {
          const value: TensorData | undefined = out[a.name];
          if (!value || value.type !== "float32") throw new ConfigurationError(`GPTQ needs the fp32 activation ${a.name}, but the model gives ${value?.type ?? "nothing"} there; quantize before converting to fp16`);
          const rows = value.data.length / a.features;
          if (!Number.isInteger(rows)) throw new Error(`activation ${a.name} has ${value.data.length} values, not a multiple of its ${a.features} features`);
          await accumulate(sums.get(a.name)!, value.data as Float32Array, rows, a.features, multiply);
          if (a.keepRows !== undefined) {
            const have = kept.get(a.name) ?? { data: new Float32Array(a.keepRows * a.features), rows: 0 };
            const take = Math.max(0, Math.min(rows, a.keepRows - have.rows));
            have.data.set((value.data as Float32Array).subarray(0, take * a.features), have.rows * a.features);
            kept.set(a.name, { data: have.data, rows: have.rows + take });
          }
          counts.set(a.name, counts.get(a.name)! + rows);
        }
        options.onSequence?.(++done, total);
      }
      for (const a of group) mirror(sums.get(a.name)!, a.features, counts.get(a.name)!);
    } finally {
      await session.release();
    }
    const rows = new Map<string, KeptRows>();
    for (const a of group) {
      const k = kept.get(a.name);
      if (k) rows.set(a.name, { data: k.data.subarray(0, k.rows * a.features), rows: k.rows });
    }
    await use(sums, rows);
  }
}
