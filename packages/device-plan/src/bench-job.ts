/**
 * One device's benchmark job from the manifest: the device's session
 * settings, the run rules, and the models with the paths of their built
 * variants — plain data in the shape `@slmops/bench`'s `runBenchmark` takes.
 */
import { ConfigurationError } from "@slmops/diagnostics";
import type { BenchSettings, Manifest, Model } from "@slmops/manifest";
import { variantModelPath } from "@slmops/variant-identity";

/** The id of the ad-hoc device a machine is benchmarked as when no device is named. */
export const LOCAL_DEVICE_ID = "local";

/** Whether `id` names the ad-hoc device: `local`, when the manifest defines no device of that id. */
export function isAdHocLocal(manifest: Manifest, id: string): boolean {
  return id === LOCAL_DEVICE_ID && !manifest.devices.some((d) => d.id === id);
}


/** Run-rule overrides for quick runs (milliseconds for durations). */
export interface BenchSettingsOverrides {
  readonly warmup?: number;
  readonly minIterations?: number;
  readonly minDurationMs?: number;
  readonly promptTokens?: number;
  readonly generateTokens?: number;
  readonly timeoutMs?: number;
  readonly seed?: number;
}

export interface BenchJobOptions {
  /**
   * A device id from the manifest; undefined, or `local` when the manifest
   * defines no device of that id: this machine as the ad-hoc device `local`
   * with default settings.
   */
  readonly device?: string;
  /** Only this model's variants (or these models'). */
  readonly model?: string | readonly string[];
  /** Only these variants: `model/variant`, or a bare variant id (in every selected model). */
  readonly variants?: readonly string[];
  /** Where the built variants are (`<dir>/<model>/<variant>/model.onnx`). */
  readonly variantsDir: string;
  readonly overrides?: BenchSettingsOverrides;
  /** Runner labels to record in the report. */
  readonly runnerLabels?: readonly string[];
}

/** The device part of a job (session options, memory budget). */
export interface BenchJobDevice {
  readonly id: string;
  readonly executionProviders?: readonly string[];
  readonly intraOpThreads?: number;
  readonly graphOptimizationLevel?: "disabled" | "basic" | "extended" | "layout" | "all";
  readonly memoryBudgetBytes?: number;
  readonly runnerLabels?: readonly string[];
}

/** The run rules of a bench job: the manifest's bench settings, overrides applied. */
export type BenchJobSettings = BenchSettings;

export interface BenchJobModel {
  readonly id: string;
  readonly source: string;
  readonly kind: "decoder" | "encoder" | "generic";
  readonly eval?: { readonly dataset: string; readonly tokenizer: string; readonly private?: boolean };
  readonly variants: readonly { readonly id: string; readonly path: string }[];
}

/** What one device benchmarks: `runBenchmark({ ...job })`. */
export interface BenchJob {
  readonly device: BenchJobDevice;
  readonly settings: BenchJobSettings;
  readonly models: readonly BenchJobModel[];
}

function list(ids: readonly string[]): string {
  return ids.length === 0 ? "none" : ids.map((id) => `\`${id}\``).join(", ");
}

function pickVariants(model: Model, wanted: readonly string[] | undefined): string[] {
  const ids = model.variants.map((v) => v.id);
  if (wanted === undefined) return ids;
  return ids.filter((id) => wanted.some((w) => w === id || w === `${model.id}/${id}`));
}

/**
 * The benchmark job for one device. Throws a {@link ConfigurationError}
 * naming what exists when the device, model or a variant is unknown.
 */
export function benchJob(manifest: Manifest, options: BenchJobOptions): BenchJob {
  let device: BenchJobDevice;
  let privateEval: string | undefined;
  if (options.device === undefined || isAdHocLocal(manifest, options.device)) {
    device = { id: LOCAL_DEVICE_ID, ...(options.runnerLabels ? { runnerLabels: options.runnerLabels } : {}) };
  } else {
    const entry = manifest.devices.find((d) => d.id === options.device);
    if (!entry) throw new ConfigurationError(`no device \`${options.device}\` in the manifest; its devices are ${list(manifest.devices.map((d) => d.id))}`);
    privateEval = entry.privateEvalDataset;
    device = {
      id: entry.id,
      executionProviders: [...entry.executionProviders],
      ...(entry.threads !== undefined ? { intraOpThreads: entry.threads } : {}),
      graphOptimizationLevel: entry.graphOptimizationLevel,
      ...(entry.memoryBudgetBytes !== undefined ? { memoryBudgetBytes: entry.memoryBudgetBytes } : {}),
      ...(options.runnerLabels ? { runnerLabels: options.runnerLabels } : {}),
    };
  }

  let models = manifest.models;
  if (options.model !== undefined) {
    const wanted: readonly string[] = typeof options.model === "string" ? [options.model] : options.model;
    for (const id of wanted) {
      if (!models.some((m) => m.id === id)) throw new ConfigurationError(`no model \`${id}\` in the manifest; its models are ${list(manifest.models.map((m) => m.id))}`);
    }
    models = models.filter((m) => wanted.includes(m.id));
  }
  for (const wanted of options.variants ?? []) {
    const found = models.some((m) => m.variants.some((v) => wanted === v.id || wanted === `${m.id}/${v.id}`));
    if (!found) {
      const known = models.flatMap((m) => m.variants.map((v) => `${m.id}/${v.id}`));
      throw new ConfigurationError(`no variant \`${wanted}\` in the manifest${options.model ? ` for model${models.length === 1 ? "" : "s"} ${list(models.map((m) => m.id))}` : ""}; its variants are ${list(known)}`);
    }
  }

  const jobModels: BenchJobModel[] = [];
  for (const model of models) {
    const variants = pickVariants(model, options.variants);
    if (variants.length === 0) continue;
    const tokenizer = model.eval?.tokenizer?.resolved;
    const dataset = privateEval ?? model.eval?.dataset.resolved;
    jobModels.push({
      id: model.id,
      source: model.source.resolved,
      kind: model.kind,
      ...(dataset && tokenizer ? { eval: { dataset, tokenizer, ...(privateEval ? { private: true } : {}) } } : {}),
      variants: variants.map((id) => ({ id, path: variantModelPath(options.variantsDir, model.id, id) })),
    });
  }

  const o = options.overrides ?? {};
  const b = manifest.bench;
  return {
    device,
    settings: {
      warmup: o.warmup ?? b.warmup,
      minIterations: o.minIterations ?? b.minIterations,
      minDurationMs: o.minDurationMs ?? b.minDurationMs,
      promptTokens: o.promptTokens ?? b.promptTokens,
      generateTokens: o.generateTokens ?? b.generateTokens,
      timeoutMs: o.timeoutMs ?? b.timeoutMs,
      seed: o.seed ?? b.seed,
    },
    models: jobModels,
  };
}
