/**
 * `runBenchmark`: benchmarks every variant of every model on this machine,
 * each in its own child process, and assembles the device's report.
 */
import os from "node:os";
import { dirname, join } from "node:path";
import { ensureOutputDirectory } from "@slmops/contained-fs";
import { ConfigurationError, isConfigurationError } from "@slmops/diagnostics";
import { availableExecutionProviders } from "@slmops/runtime";
import type { GraphOptimizationLevel } from "@slmops/runtime";
import { describeVariant } from "@slmops/variant-identity";
import { runInChild } from "./child.js";
import { loadEval } from "./eval-set.js";
import type { EvalSource, TokenizedEval } from "./eval-set.js";
import { collectFingerprint } from "./fingerprint.js";
import type { MeasureJob, MeasurePhase, ModelKind, SessionSettings } from "./measure.js";
import { modelFiles } from "./model-files.js";
import type { ModelFiles } from "./model-files.js";
import { InvalidReferenceError, readReference, referenceFileName } from "./reference-file.js";
import type { ReferenceKey } from "./reference-file.js";
import { BENCH_REPORT_SCHEMA_VERSION, validateReport } from "./report.js";
import type { BenchReport, FailureJson, ModelEntryJson, VariantResultJson } from "./report.js";
import { failedResult, variantResult } from "./results.js";
import { validateRunRules } from "./run-rules.js";
import { SOURCE_VARIANT_ID } from "./versus-source.js";

/** The device being benchmarked: session options and what to record about it. */
export interface BenchDevice {
  /** Id of the device entry; `local` for an ad-hoc run. */
  readonly id: string;
  /** Execution providers in order of preference; default `["cpu"]`. */
  readonly executionProviders?: readonly string[];
  /** Intra-op threads; default 0 (ONNX Runtime's choice). */
  readonly intraOpThreads?: number;
  /** Inter-op threads; default 0 (ONNX Runtime's choice). */
  readonly interOpThreads?: number;
  /** Default `all`. */
  readonly graphOptimizationLevel?: GraphOptimizationLevel;
  /** Memory budget in bytes; each result records whether its peak stayed within it. */
  readonly memoryBudgetBytes?: number;
  /** CI runner labels; default: the `RUNNER_LABELS` environment variable. */
  readonly runnerLabels?: readonly string[];
}

/** Run rules and inputs (the manifest's `bench` block, as plain numbers). */
export interface BenchSettings {
  readonly warmup: number;
  readonly minIterations: number;
  readonly minDurationMs: number;
  readonly promptTokens: number;
  readonly generateTokens: number;
  /** Default 0. */
  readonly seed?: number;
  /** Safety cap on timed iterations; default 100 000. */
  readonly maxIterations?: number;
  /** Each variant's process is killed after this long; default 30 minutes. */
  readonly timeoutMs?: number;
  /** Eval sequences used for accuracy; default 64. */
  readonly maxEvalSequences?: number;
  /** Tokens per eval sequence; default 128. */
  readonly maxEvalTokens?: number;
}

export interface BenchVariant {
  readonly id: string;
  /** Path of the variant's .onnx file (external data beside it). */
  readonly path: string;
}

export interface BenchModel {
  readonly id: string;
  /** The fp32 source model: the accuracy reference. */
  readonly source: string;
  /**
   * sha256 of the source model (as a report's `source-sha256` gives it), for
   * a device that does not have the source file: a stored reference with this
   * hash in `referenceDir` is then used without the fp32 model.
   */
  readonly sourceSha256?: string;
  /** Default `auto`: a decoder when it has the Optimum decoder inputs and outputs. */
  readonly kind?: ModelKind;
  /** Eval set for accuracy (decoders); a device's private dataset goes here with `private: true`. */
  readonly eval?: EvalSource;
  readonly variants: readonly BenchVariant[];
}

export type BenchPhase = "reference" | MeasurePhase | "done" | "failed";

/** Progress of a benchmark, for a live progress line. */
export interface BenchProgress {
  readonly model: string;
  /** Absent while the model's reference is computed. */
  readonly variant?: string;
  readonly phase: BenchPhase;
  /** 1-based position of this variant among all variants, and their count. */
  readonly index: number;
  readonly total: number;
  /** Timed iterations so far and their wall time (measure phase). */
  readonly iterations?: number;
  readonly elapsedMs?: number;
  /** The worker process, once it runs. */
  readonly pid?: number;
  /** What went wrong (failed phase). */
  readonly message?: string;
}

export interface BenchOptions {
  readonly device: BenchDevice;
  readonly settings: BenchSettings;
  readonly models: readonly BenchModel[];
  /**
   * Where reference next-token distributions are stored and looked up, keyed
   * by (source model hash, eval hash, tokenizer hash, eval limits). Copy its
   * files to a device to spare it running the fp32 model. Default: a
   * directory under the OS temp dir.
   */
  readonly referenceDir?: string;
  /**
   * The repository root: a `referenceDir` inside it is created without
   * following links from the root down (a checked-out tree can ship
   * `.slmops` as a link to anywhere).
   */
  readonly root?: string;
  readonly onProgress?: (progress: BenchProgress) => void;
  readonly signal?: AbortSignal;
  /** Extra environment for worker processes. */
  readonly workerEnv?: NodeJS.ProcessEnv;
  /**
   * The worker script, when this package runs bundled (an action): bundle
   * `@slmops/bench`'s `dist/worker.js` as its own entry and name it here.
   * Default: `worker.js` beside this module.
   */
  readonly workerPath?: string;
}

const DEFAULTS = {
  seed: 0,
  maxIterations: 100_000,
  timeoutMs: 30 * 60 * 1000,
  maxEvalSequences: 64,
  maxEvalTokens: 128,
};

function checkSettings(settings: BenchSettings): Required<BenchSettings> {
  const s = { ...DEFAULTS, ...settings };
  try {
    validateRunRules({ warmup: s.warmup, minIterations: s.minIterations, minDurationMs: s.minDurationMs, maxIterations: s.maxIterations });
  } catch (cause) {
    throw new ConfigurationError(`bench settings: ${(cause as Error).message}`, { cause });
  }
  const positive = { promptTokens: s.promptTokens, timeoutMs: s.timeoutMs, maxEvalSequences: s.maxEvalSequences, maxEvalTokens: s.maxEvalTokens };
  for (const [name, value] of Object.entries(positive)) {
    if (!(Number.isFinite(value) && value >= 1)) throw new ConfigurationError(`bench settings: ${name} must be at least 1, got ${value}`);
  }
  if (!(Number.isInteger(s.generateTokens) && s.generateTokens >= 0)) {
    throw new ConfigurationError(`bench settings: generateTokens must be a whole number ≥ 0, got ${s.generateTokens}`);
  }
  return s;
}

function sessionSettings(device: BenchDevice): SessionSettings {
  return {
    executionProviders: device.executionProviders ?? ["cpu"],
    intraOpThreads: device.intraOpThreads ?? 0,
    interOpThreads: device.interOpThreads ?? 0,
    graphOptimizationLevel: device.graphOptimizationLevel ?? "all",
  };
}

/** Throws a ConfigurationError naming the device when one of its execution providers is not on this machine. */
export function checkExecutionProviders(device: BenchDevice): void {
  const wanted = device.executionProviders ?? ["cpu"];
  const available = availableExecutionProviders();
  const missing = wanted.filter((p) => !available.includes(p.toLowerCase()));
  if (missing.length > 0) {
    throw new ConfigurationError(
      `device \`${device.id}\`: execution provider ${missing.map((m) => `\`${m}\``).join(", ")} is not available on this machine ` +
        `(this ONNX Runtime offers: ${available.join(", ")})\n` +
        `  hint: run this device's job on a runner whose ONNX Runtime build includes it, or remove it from the device's execution-providers`,
    );
  }
}

interface PreparedModel {
  readonly entry: ModelEntryJson;
  readonly reference?: { readonly path: string; readonly key: ReferenceKey };
  readonly referenceError?: string;
}

/** The model's identity digest (`@slmops/variant-identity`): what optimize records for a variant and the release signs. */
async function hashModel(files: ModelFiles): Promise<string> {
  const first = files.files[0];
  if (first === undefined) throw new Error("a model has at least its own file");
  return (await describeVariant(dirname(first.path), files.files.map((f) => f.name), { what: "model file" })).digest;
}

/** Benchmarks every variant of every model, each in its own process, and returns the validated report. */
export async function runBenchmark(options: BenchOptions): Promise<BenchReport> {
  const settings = checkSettings(options.settings);
  checkExecutionProviders(options.device);
  const session = sessionSettings(options.device);
  const referenceDir = options.referenceDir ?? join(os.tmpdir(), "slmops-bench-references");
  const fingerprint = await collectFingerprint(options.device.runnerLabels);
  // The fp32 source is benchmarked as a row of its own wherever its file is on this device.
  const sourceReadable = await Promise.all(options.models.map((m) => modelFiles(m.source).then(() => true, () => false)));
  const rowsOf = (model: BenchModel, i: number): BenchVariant[] => [...(sourceReadable[i] ? [{ id: SOURCE_VARIANT_ID, path: model.source }] : []), ...model.variants];
  const total = options.models.reduce((n, m, i) => n + rowsOf(m, i).length, 0);
  const progress = (p: BenchProgress) => options.onProgress?.(p);
  const childBase = { timeoutMs: settings.timeoutMs, env: options.workerEnv, signal: options.signal, workerPath: options.workerPath };

  /** One row: the variant's files, then its measurement in a child process; any failure becomes the row's failure. */
  const measureRow = async (model: BenchModel, variant: BenchVariant, prepared: PreparedModel, at: { model: string; variant: string; index: number; total: number }): Promise<VariantResultJson> => {
    let files: ModelFiles;
    let modelSha256: string;
    try {
      files = await modelFiles(variant.path);
      modelSha256 = await hashModel(files);
    } catch (error) {
      const failure: FailureJson = { kind: "configuration", message: (error as Error).message };
      progress({ ...at, phase: "failed", message: failure.message });
      return failedResult(model.id, variant.id, failure);
    }
    const job: MeasureJob = {
      modelPath: variant.path,
      kind: model.kind ?? "auto",
      session,
      rules: { warmup: settings.warmup, minIterations: settings.minIterations, minDurationMs: settings.minDurationMs, maxIterations: settings.maxIterations },
      promptTokens: settings.promptTokens,
      generateTokens: settings.generateTokens,
      seed: settings.seed,
      // The source is the reference: its accuracy against itself says nothing.
      ...(prepared.reference && variant.id !== SOURCE_VARIANT_ID ? { reference: prepared.reference } : {}),
    };
    let pid: number | undefined;
    const outcome = await runInChild(
      { type: "measure", job },
      {
        ...childBase,
        onSpawn: (p) => {
          pid = p;
        },
        onProgress: (p) => progress({ ...at, ...p, ...(pid !== undefined ? { pid } : {}) }),
      },
    );
    if (outcome.ok && outcome.reply.type === "measured") {
      progress({ ...at, phase: "done" });
      return variantResult(
        {
          model: model.id,
          variant: variant.id,
          files,
          modelSha256,
          ...(options.device.memoryBudgetBytes !== undefined ? { memoryBudgetBytes: options.device.memoryBudgetBytes } : {}),
          ...(prepared.referenceError && variant.id !== SOURCE_VARIANT_ID ? { accuracyError: prepared.referenceError } : {}),
        },
        outcome.reply.measurement,
      );
    }
    const failure: FailureJson = outcome.ok ? { kind: "error", message: "the worker sent an unexpected reply" } : outcome.failure;
    progress({ ...at, phase: "failed", message: failure.message });
    return failedResult(model.id, variant.id, failure, files, modelSha256);
  };

  const models: ModelEntryJson[] = [];
  const results: VariantResultJson[] = [];
  let index = 0;
  for (const [i, model] of options.models.entries()) {
    const prepared = await prepareModel(model, settings, session, { dir: referenceDir, root: options.root }, (p) => progress({ ...p, index: index + 1, total }), childBase);
    models.push(prepared.entry);
    for (const variant of rowsOf(model, i)) {
      index++;
      results.push(await measureRow(model, variant, prepared, { model: model.id, variant: variant.id, index, total }));
      if (options.signal?.aborted) break;
    }
  }

  const device = options.device;
  const report: BenchReport = {
    "schema-version": BENCH_REPORT_SCHEMA_VERSION,
    "created-at": new Date().toISOString(),
    device: {
      id: device.id,
      fingerprint,
      session: {
        "execution-providers": [...session.executionProviders],
        "intra-op-threads": session.intraOpThreads,
        "inter-op-threads": session.interOpThreads,
        "graph-optimization-level": session.graphOptimizationLevel,
      },
      ...(device.memoryBudgetBytes !== undefined ? { "memory-budget-bytes": device.memoryBudgetBytes } : {}),
    },
    settings: {
      warmup: settings.warmup,
      "min-iterations": settings.minIterations,
      "min-duration-ms": settings.minDurationMs,
      "max-iterations": settings.maxIterations,
      "prompt-tokens": settings.promptTokens,
      "generate-tokens": settings.generateTokens,
      seed: settings.seed,
      "timeout-ms": settings.timeoutMs,
    },
    models,
    results,
  };
  return validateReport(report, "the benchmark's own report");
}

/**
 * Hashes the source, loads the eval set and finds (or computes, in a child
 * process) the reference. Problems here cost the model its accuracy figures,
 * never its performance figures.
 */
async function prepareModel(
  model: BenchModel,
  settings: Required<BenchSettings>,
  session: SessionSettings,
  references: { readonly dir: string; readonly root: string | undefined },
  progress: (p: Omit<BenchProgress, "index" | "total">) => void,
  childBase: { timeoutMs: number; env: NodeJS.ProcessEnv | undefined; signal: AbortSignal | undefined; workerPath: string | undefined },
): Promise<PreparedModel> {
  let sourceSha256: string | null = null;
  let sourceError: string | undefined;
  try {
    sourceSha256 = await hashModel(await modelFiles(model.source));
  } catch (error) {
    sourceError = (error as Error).message;
  }
  if (model.sourceSha256 !== undefined) {
    if (!/^[0-9a-f]{64}$/.test(model.sourceSha256)) {
      throw new ConfigurationError(`model \`${model.id}\`: sourceSha256 must be 64 lowercase hex digits, got \`${model.sourceSha256}\``);
    }
    if (sourceSha256 !== null && sourceSha256 !== model.sourceSha256) {
      throw new ConfigurationError(
        `model \`${model.id}\`: the source ${model.source} has sha256 ${sourceSha256}, not the ${model.sourceSha256} given; ` +
          `the reference would belong to another model`,
      );
    }
    sourceSha256 = model.sourceSha256;
  }
  if (!model.eval) return { entry: { id: model.id, "source-sha256": sourceSha256 } };

  let tokenized: TokenizedEval;
  try {
    tokenized = await loadEval(model.eval, { maxSequences: settings.maxEvalSequences, maxSequenceTokens: settings.maxEvalTokens });
  } catch (error) {
    // An eval set or tokenizer that cannot be used is the configuration's mistake: the run stops, saying where.
    if (isConfigurationError(error)) throw error;
    const message = `eval set: ${(error as Error).message}`;
    return { entry: { id: model.id, "source-sha256": sourceSha256, reference: { status: "failed", message } }, referenceError: message };
  }
  const entry = {
    id: model.id,
    "source-sha256": sourceSha256,
    eval: {
      sha256: tokenized.sha256,
      "tokenizer-sha256": tokenized.tokenizerSha256,
      sequences: tokenized.sequences.length,
      tokens: tokenized.tokens,
      private: model.eval.private ?? false,
    },
  };
  const fail = (message: string): PreparedModel => ({ entry: { ...entry, reference: { status: "failed", message } }, referenceError: message });
  if (sourceSha256 === null) return fail(`the fp32 source model cannot be read: ${sourceError ?? "unknown error"}`);
  const sourceAvailable = sourceError === undefined;

  const key: ReferenceKey = {
    modelSha256: sourceSha256,
    evalSha256: tokenized.sha256,
    tokenizerSha256: tokenized.tokenizerSha256,
    maxSequences: settings.maxEvalSequences,
    maxSequenceTokens: settings.maxEvalTokens,
  };
  const path = join(references.dir, referenceFileName(key));
  let staleReason: string | undefined;
  try {
    await readReference(path, key);
    return { entry: { ...entry, reference: { status: "reused" } }, reference: { path, key } };
  } catch (error) {
    if (error instanceof InvalidReferenceError) staleReason = `a stored reference was not used: ${error.reason}`;
    else if ((error as NodeJS.ErrnoException).code !== "ENOENT") staleReason = `a stored reference could not be read: ${(error as Error).message}`;
  }
  if (!sourceAvailable) {
    return fail(`no usable stored reference for this source and eval set${staleReason ? ` (${staleReason})` : ""}, and the fp32 source model cannot be read: ${sourceError ?? ""}`);
  }
  await ensureOutputDirectory(references.root, references.dir);
  progress({ model: model.id, phase: "reference" });
  const outcome = await runInChild(
    { type: "reference", job: { modelPath: model.source, session, key, sequences: tokenized.sequences, outputPath: path } },
    childBase,
  );
  if (!outcome.ok && outcome.failure.kind === "configuration") {
    // The configuration does not fit together, e.g. the tokenizer's ids lie outside the model's vocabulary (the child checks them).
    throw new ConfigurationError(
      `model \`${model.id}\`: the fp32 reference over ${model.eval.dataset}, tokenized with ${model.eval.tokenizer}, cannot be computed: ${outcome.failure.message}`,
    );
  }
  if (!outcome.ok) return fail(`computing the reference with the fp32 source failed (${outcome.failure.kind}): ${outcome.failure.message}`);
  return {
    entry: { ...entry, reference: { status: "computed", ...(staleReason ? { message: staleReason } : {}) } },
    reference: { path, key },
  };
}
