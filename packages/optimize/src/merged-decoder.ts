/**
 * Hugging Face Optimum's merged decoder (`decoder_model_merged.onnx`): one
 * `If` on the `use_cache_branch` input, whose `then` branch reads the KV
 * cache and whose `else` branch serves a prompt without one. Both branches
 * read the weights from the main graph, so a pass that rewrites a weight
 * rewrites it once for both.
 */
import type { GraphProto, ModelProto, NodeProto } from "@slmops/onnx";
import { USE_CACHE_BRANCH } from "@slmops/runtime";
import { graphOf, isOnnxOp } from "./graph.js";

export { USE_CACHE_BRANCH };

/** The merged decoder's `If` and its branches, or undefined for any other model. */
export function mergedDecoderBranches(model: ModelProto): { readonly node: NodeProto; readonly withPast: GraphProto; readonly noPast: GraphProto } | undefined {
  const graph = graphOf(model);
  if (!graph.input.some((i) => i.name === USE_CACHE_BRANCH)) return undefined;
  const node = graph.node.find((n) => isOnnxOp(n, "If") && n.input[0] === USE_CACHE_BRANCH);
  const withPast = node?.attribute.find((a) => a.name === "then_branch")?.g;
  const noPast = node?.attribute.find((a) => a.name === "else_branch")?.g;
  return node && withPast && noPast ? { node, withPast, noPast } : undefined;
}

/**
 * The model as a decoder without the `If`: the main graph's other nodes, then
 * the no-cache branch's, reading the same tensors (nothing is copied). What
 * calibration runs, since a branch's values cannot be graph outputs of the
 * model itself; the model is returned as it is when it is not merged.
 */
export function withoutCacheBranch(model: ModelProto): ModelProto {
  const merged = mergedDecoderBranches(model);
  if (!merged) return model;
  const graph = graphOf(model);
  const view: GraphProto = {
    ...graph,
    node: [...graph.node.filter((n) => n !== merged.node), ...merged.noPast.node],
    initializer: [...graph.initializer, ...merged.noPast.initializer],
    input: graph.input.filter((i) => i.name !== USE_CACHE_BRANCH),
    valueInfo: [...graph.valueInfo, ...merged.noPast.valueInfo],
  };
  return { ...model, graph: view };
}
