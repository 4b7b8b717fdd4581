/**
 * `optimizeModel`: runs a variant's passes in order over a source model and
 * writes the result, with a record of what was done — the pass list, the
 * input's and output's sha256 and sizes (external data included) and how
 * long each pass took.
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { once } from "node:events";
import { createGzip } from "node:zlib";
import { ConfigurationError } from "@slmops/diagnostics";
import type { ModelKind } from "@slmops/manifest";
import { tensorRawBytes, type ModelProto } from "@slmops/onnx";
import { withDefaultAccuracyLevel } from "./accuracy-level.js";
import { convertToFloat16, type ConvertStats } from "./convert-pass.js";
import { optimizeGraph, type GraphOptimizeStats } from "./graph-optimize-pass.js";
import { describeModelFiles, externalDataFiles, loadModel, saveModel, type ModelFiles } from "./model-io.js";
import { describePass, normalizePass, type NormalizedPass, type PassSpec } from "./pass-options.js";
import { pruneModel, type PruneStats } from "./prune-pass.js";
import type { Calibration } from "./calibration.js";
import { calibrates, quantizeModel, quantizeModelCalibrated, type QuantizeStats } from "./quantize-pass.js";
import { validateSourceModel } from "./validate-source.js";

/** Progress through a pipeline, reported per tensor (for a progress bar). */
export interface OptimizeProgress {
  /** 0-based index of the running pass. */
  readonly pass: number;
  readonly passCount: number;
  /** The running pass, e.g. `quantize(int4, block 32, …)`. */
  readonly description: string;
  /** The tensor just finished, when the pass works tensor by tensor. */
  readonly tensor?: string;
  /** Units done and total within this pass. */
  readonly done: number;
  readonly total: number;
}

export interface OptimizeOptions {
  /** Path of the source model (`.onnx`). */
  readonly source: string;
  /** Passes in order, as plain manifest objects (validated here). */
  readonly passes: readonly PassSpec[] | readonly unknown[];
  /** Directory for the variant; created if missing. */
  readonly outDir: string;
  /** File name of the variant's model; default `model.onnx`. */
  readonly fileName?: string;
  /**
   * Keep weights in an external data file (`<file>.data`) beside the model.
   * Default: as the source does. Needed above 2 GiB.
   */
  readonly externalData?: boolean;
  readonly onProgress?: (progress: OptimizeProgress) => void;
  /** The manifest's model `kind`; `decoder` makes the source model's decoder inputs and outputs a requirement. */
  readonly kind?: ModelKind;
  /** Calibration text as token sequences, for `method: gptq` (kept apart from the evaluation text). */
  readonly calibration?: Calibration;
  /**
   * The ONNX Runtime execution providers the variant will run on (every
   * device's, in any order); default `["cpu"]`. They choose the defaults a
   * pass leaves open, such as block-wise quantization's accuracy level
   * (`accuracy-level.ts`); the record says what was chosen.
   */
  readonly executionProviders?: readonly string[];
}

/** Compressed sizes (gzip) before and after a pass, for passes that only help compression. */
export interface CompressedSizes {
  readonly before: number;
  readonly after: number;
}

/** What one pass did. */
export interface PassRecord {
  /** A one-line description, e.g. `prune(50%, per-layer)`. */
  readonly description: string;
  /** The pass with its defaults filled in. */
  readonly options: NormalizedPass;
  readonly durationMs: number;
  readonly stats: QuantizeStats | ConvertStats | PruneStats | GraphOptimizeStats;
  /** For `prune`: gzip-compressed size of the weights before and after. */
  readonly compressed?: CompressedSizes;
}

/** The record of one variant. */
export interface VariantRecord {
  readonly source: ModelFiles;
  readonly output: ModelFiles;
  readonly passes: readonly PassRecord[];
  readonly durationMs: number;
}

/**
 * gzip size of the model's weights, one stream over every initializer's
 * bytes (external data included): what a compressed download of the
 * weights costs.
 */
async function gzippedSize(model: ModelProto): Promise<number> {
  const gzip = createGzip();
  let bytes = 0;
  gzip.on("data", (chunk: Buffer) => {
    bytes += chunk.byteLength;
  });
  const finished = new Promise<void>((resolve, reject) => {
    gzip.on("end", resolve);
    gzip.on("error", reject);
  });
  for (const t of model.graph?.initializer ?? []) {
    if (!gzip.write(tensorRawBytes(t))) await once(gzip, "drain");
  }
  gzip.end();
  await finished;
  return bytes;
}

/** A pass with the defaults that depend on the execution providers filled in. */
function withProviderDefaults(pass: NormalizedPass, providers: readonly string[]): NormalizedPass {
  if (pass.name !== "quantize" || pass.activations !== "none") return pass;
  // An 8-bit override in a 4-bit pass (say, the LM head) is beside 4-bit weights; the pass's own 8-bit nodes are not.
  return { ...withDefaultAccuracyLevel(pass, providers), overrides: pass.overrides.map((o) => withDefaultAccuracyLevel(o, providers, pass.weights === "int4")) };
}

/**
 * Runs `passes` over `source` and writes the variant to `outDir`. Throws
 * ConfigurationError for a mistake in the passes (before any work is done)
 * or a model the passes cannot handle.
 */
export async function optimizeModel(options: OptimizeOptions): Promise<VariantRecord> {
  const started = performance.now();
  const providers = options.executionProviders ?? ["cpu"];
  const passes = options.passes.map((p, i) => withProviderDefaults(normalizePass(p, `passes[${i}]`), providers));
  if (passes.length === 0) throw new ConfigurationError("a variant needs at least one pass");
  const calibrated = passes.findIndex(calibrates);
  if (calibrated >= 0 && options.calibration === undefined) {
    const pass = passes[calibrated];
    const override = pass?.name === "quantize" && pass.activations === "none" && pass.method !== "gptq" ? pass.overrides.findIndex((o) => o.method === "gptq") : -1;
    const where = `passes[${calibrated}].quantize${override >= 0 ? `.overrides[${override}]` : ""}.method`;
    throw new ConfigurationError(`${where}: gptq calibrates on text, and none was given; name the model's calibration data (or its eval set), or use rtn or minimize-error`);
  }
  const fileName = options.fileName ?? "model.onnx";
  if (fileName.includes("/") || fileName.includes("\\") || fileName.startsWith(".")) {
    throw new ConfigurationError(`variant file name \`${fileName}\` must be a plain file name, like model.onnx`);
  }

  const sourcePath = resolve(options.source);
  let model = await loadModel(sourcePath);
  // Refused here, before any pass runs or anything is written.
  await validateSourceModel(model, sourcePath, options.kind === undefined ? {} : { kind: options.kind });
  const sourceData = externalDataFiles(model);
  const source = await describeModelFiles(sourcePath, sourceData);
  const records: PassRecord[] = [];

  for (const [index, pass] of passes.entries()) {
    const description = describePass(pass);
    const report = (done: number, total: number, tensor?: string) =>
      options.onProgress?.({ pass: index, passCount: passes.length, description, done, total, ...(tensor ? { tensor } : {}) });
    const onTensor = (e: { tensor: string; done: number; total: number }) => report(e.done, e.total, e.tensor);
    report(0, 1);
    const t0 = performance.now();
    let stats: PassRecord["stats"];
    let compressed: CompressedSizes | undefined;
    let measuring = 0; // time spent measuring compressed sizes, not part of the pass
    switch (pass.name) {
      case "quantize":
        stats =
          calibrates(pass) && options.calibration
            ? await quantizeModelCalibrated(model, pass, options.calibration, onTensor)
            : quantizeModel(model, pass, onTensor);
        break;
      case "convert":
        stats = convertToFloat16(model, pass, onTensor);
        break;
      case "prune": {
        const m0 = performance.now();
        const before = await gzippedSize(model);
        measuring = performance.now() - m0;
        stats = pruneModel(model, pass, onTensor);
        const m1 = performance.now();
        compressed = { before, after: await gzippedSize(model) };
        measuring += performance.now() - m1;
        break;
      }
      case "graph-optimize": {
        const result = await optimizeGraph(model, pass);
        model = result.model;
        stats = result.stats;
        report(1, 1);
        break;
      }
    }
    const durationMs = performance.now() - t0 - measuring;
    records.push({ description, options: pass, durationMs, stats, ...(compressed ? { compressed } : {}) });
  }

  await mkdir(options.outDir, { recursive: true });
  const outPath = resolve(join(options.outDir, fileName));
  const written = await saveModel(model, outPath, options.externalData ?? sourceData.length > 0);
  const output = await describeModelFiles(outPath, written.slice(1));
  return { source, output, passes: records, durationMs: performance.now() - started };
}
