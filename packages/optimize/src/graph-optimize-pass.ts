/**
 * The `graph-optimize` pass: ONNX Runtime's own offline optimization. The
 * model is opened in a session at the requested level with an
 * optimized-model path, and the model ONNX Runtime writes there becomes the
 * pass's output.
 *
 * `basic` (constant folding, redundant node elimination) and `extended`
 * (operator fusions into `com.microsoft` kernels) give portable models.
 * `layout` and `all` also rewrite data layouts for the machine at hand (NCHWc
 * and the like), so their output may not run elsewhere: they are refused
 * unless `allow-machine-specific` is set.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";
import { InvalidModelError, readModel, type ModelProto } from "@slmops/onnx";
import { createSession, ModelLoadError } from "@slmops/runtime";
import { graphOf } from "./graph.js";
import { saveModel } from "./model-io.js";
import type { NormalizedPass } from "./pass-options.js";

export type GraphOptimizePass = Extract<NormalizedPass, { name: "graph-optimize" }>;

export interface GraphOptimizeStats {
  readonly nodesBefore: number;
  readonly nodesAfter: number;
}

/** Runs the pass; returns the optimized model (a new ModelProto). `scratch` is a directory for the round trip (default: a fresh temp dir). */
export async function optimizeGraph(
  model: ModelProto,
  pass: GraphOptimizePass,
  scratch?: string,
): Promise<{ model: ModelProto; stats: GraphOptimizeStats }> {
  if ((pass.level === "layout" || pass.level === "all") && !pass.allowMachineSpecific) {
    throw new ConfigurationError(
      `graph-optimize level \`${pass.level}\` writes a model tied to the machine that optimized it; use \`basic\` or \`extended\`, or set \`allow-machine-specific: true\``,
    );
  }
  const dir = scratch ?? (await mkdtemp(join(tmpdir(), "slmops-graph-optimize-")));
  try {
    const input = join(dir, "input.onnx");
    const output = join(dir, "optimized.onnx");
    await saveModel(model, input);
    let session;
    try {
      session = await createSession(input, { graphOptimizationLevel: pass.level, optimizedModelPath: output });
    } catch (error) {
      if (!(error instanceof ModelLoadError)) throw error;
      // Named without the scratch file, which is gone by the time anyone reads this.
      throw new InvalidModelError(
        `graph-optimize: the model given to this pass is not a valid ONNX model: ONNX Runtime cannot load it: ${error.reason}; ` +
          "check the source model's operators and opset, or the passes before graph-optimize",
        { cause: error },
      );
    }
    await session.release();
    // Loaded whole: the scratch directory goes away below.
    const optimized = await readModel(output, { externalData: "load" });
    return { model: optimized, stats: { nodesBefore: graphOf(model).node.length, nodesAfter: graphOf(optimized).node.length } };
  } finally {
    if (!scratch) await rm(dir, { recursive: true, force: true });
  }
}
