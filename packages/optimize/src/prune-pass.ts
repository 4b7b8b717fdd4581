/**
 * The `prune` pass: magnitude pruning of MatMul weights (2-D float
 * initializers feeding a MatMul's B input) to a target sparsity, either per
 * weight matrix or with one global threshold. Embeddings, norms and biases
 * are left alone.
 *
 * The weights stay dense: the model is exactly as large and as fast as
 * before. What shrinks is its compressed size (zeros compress well), which is
 * what a release download costs; the pipeline reports both.
 */
import { ConfigurationError } from "@slmops/diagnostics";
import { DataType, type ModelProto, type TensorProto } from "@slmops/onnx";
import { graphOf, matmulSites } from "./graph.js";
import { countZeros, pruneSmallest } from "./magnitude.js";
import type { NormalizedPass } from "./pass-options.js";
import type { TensorProgress } from "./quantize-pass.js";
import { floatTensor, isFloatTensor, readFloats } from "./tensors.js";

export type PrunePass = Extract<NormalizedPass, { name: "prune" }>;

export interface PruneStats {
  readonly tensors: number;
  readonly parameters: number;
  readonly zeros: number;
  /** zeros / parameters over the pruned tensors. */
  readonly sparsity: number;
}

/** Runs the prune pass on `model` in place. */
export function pruneModel(model: ModelProto, pass: PrunePass, onTensor?: TensorProgress): PruneStats {
  const seen = new Set<TensorProto>();
  const targets: TensorProto[] = [];
  // MatMuls in nested graphs too (a merged decoder's branches), each weight pruned once however many read it.
  for (const { weight: w } of matmulSites(graphOf(model))) {
    if (w && w.dims.length === 2 && isFloatTensor(w) && !seen.has(w)) {
      seen.add(w);
      targets.push(w);
    }
  }
  if (targets.length === 0) {
    throw new ConfigurationError("prune found no MatMul with a constant float weight; prune before quantizing, or this model has nothing to prune");
  }

  const write = (t: TensorProto, values: Float32Array) => {
    const dataType = t.dataType === DataType.FLOAT16 ? DataType.FLOAT16 : DataType.FLOAT;
    Object.assign(t, { ...floatTensor(t.name!, dataType, t.dims, values), floatData: [], int32Data: [], dataLocation: 0, externalData: [] });
  };

  let parameters = 0;
  let zeros = 0;
  if (pass.scope === "global") {
    const all = targets.map(readFloats);
    const total = all.reduce((a, v) => a + v.length, 0);
    pruneSmallest(all, Math.round(total * pass.sparsity));
    all.forEach((values, i) => {
      write(targets[i]!, values);
      parameters += values.length;
      zeros += countZeros([values]);
      onTensor?.({ tensor: targets[i]!.name!, done: i + 1, total: targets.length });
    });
  } else {
    targets.forEach((t, i) => {
      const values = readFloats(t);
      zeros += pruneSmallest([values], Math.round(values.length * pass.sparsity));
      parameters += values.length;
      write(t, values);
      onTensor?.({ tensor: t.name!, done: i + 1, total: targets.length });
    });
  }
  return { tensors: targets.length, parameters, zeros, sparsity: parameters === 0 ? 0 : zeros / parameters };
}
