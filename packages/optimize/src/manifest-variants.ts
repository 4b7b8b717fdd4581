/**
 * A manifest's variants, built: pick the variants a user asked for, turn each
 * variant's normalized passes back into pass specs, and run them with
 * `optimizeModel` so that each variant lands whole at
 * `<outDir>/<model>/<variant>/` or not at all. One failing variant does not
 * stop the others; each outcome says what happened.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { discardBuild, pathInside, publishBuild, startBuild, type Build } from "@slmops/contained-fs";
import { ConfigurationError } from "@slmops/diagnostics";
import type { Manifest, Model, Pass, Variant } from "@slmops/manifest";
import { variantDirectory } from "@slmops/variant-identity";
import type { Calibration } from "./calibration.js";
import type { ModelFile, ModelFiles } from "./model-io.js";
import type { PassSpec } from "./pass-options.js";
import { optimizeModel, type OptimizeProgress, type PassRecord } from "./pipeline.js";

/** Which variants to build; both filters optional, both applied. */
export interface VariantFilter {
  /** A model id, or several: only their variants. */
  readonly model?: string | readonly string[];
  /** A variant id (in any selected model), or `model/variant`; or several. */
  readonly variant?: string | readonly string[];
}

/** One variant picked from a manifest, with the model it is built from. */
export interface SelectedVariant {
  readonly model: Model;
  readonly variant: Variant;
}

/**
 * A model or variant filter that names nothing in the manifest. Carries the
 * ids that exist so a caller can suggest the one that was meant.
 */
export class UnknownVariantFilterError extends ConfigurationError {
  constructor(
    /** Which filter: `model` or `variant`. */
    readonly filter: "model" | "variant",
    /** The id as given. */
    readonly given: string,
    /** The ids the filter could have named. */
    readonly available: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

/**
 * The variants `filter` selects, in manifest order. Throws
 * {@link UnknownVariantFilterError} when a filter names nothing: a model
 * that does not exist, or a variant that none of the selected models has.
 */
export function selectVariants(manifest: Manifest, filter: VariantFilter = {}): SelectedVariant[] {
  const models = typeof filter.model === "string" ? [filter.model] : filter.model;
  const variants = typeof filter.variant === "string" ? [filter.variant] : filter.variant;
  const picked = new Set<Variant>();
  for (const variant of variants ?? [undefined]) {
    // A `model/variant` is checked against the model filter once, not against each model of it.
    const scopes = variant?.includes("/") && models?.includes(variant.split("/", 1)[0] ?? "") ? [undefined] : (models ?? [undefined]);
    let missing: unknown;
    let found = false;
    for (const model of scopes) {
      try {
        for (const s of selectOne(manifest, { ...(model === undefined ? {} : { model }), ...(variant === undefined ? {} : { variant }) })) picked.add(s.variant);
        found = true;
      } catch (error) {
        if (!(error instanceof UnknownVariantFilterError && error.filter === "variant")) throw error;
        missing ??= error;
      }
    }
    if (!found) throw missing;
  }
  // Every model named exists, even one no `model/variant` was checked against.
  for (const model of models ?? []) selectOne(manifest, { model });
  return manifest.models.flatMap((model) => model.variants.filter((v) => picked.has(v)).map((variant) => ({ model, variant })));
}

/** The variants one model id and one variant id select. */
function selectOne(manifest: Manifest, filter: { readonly model?: string; readonly variant?: string }): SelectedVariant[] {
  let models = manifest.models;
  let variantId = filter.variant;
  if (variantId !== undefined && variantId.includes("/")) {
    const [model = "", variant = ""] = variantId.split("/", 2);
    if (filter.model !== undefined && filter.model !== model) {
      throw new ConfigurationError(`variant \`${variantId}\` names model \`${model}\` but the model filter is \`${filter.model}\`; drop one of them`);
    }
    models = pickModel(models, model);
    variantId = variant;
  } else if (filter.model !== undefined) {
    models = pickModel(models, filter.model);
  }
  const selected: SelectedVariant[] = [];
  for (const model of models) {
    for (const variant of model.variants) {
      if (variantId === undefined || variant.id === variantId) selected.push({ model, variant });
    }
  }
  if (variantId !== undefined && selected.length === 0) {
    const available = [...new Set(models.flatMap((m) => m.variants.map((v) => v.id)))];
    const scope = models.length === 1 ? `model \`${models[0]?.id ?? ""}\`` : "the manifest";
    throw new UnknownVariantFilterError(
      "variant",
      variantId,
      available,
      `no variant \`${variantId}\` in ${scope}; its variants are ${list(available)}`,
    );
  }
  return selected;
}

function pickModel(models: readonly Model[], id: string): Model[] {
  const found = models.filter((m) => m.id === id);
  if (found.length > 0) return found;
  const available = models.map((m) => m.id);
  throw new UnknownVariantFilterError("model", id, available, `no model \`${id}\` in the manifest; its models are ${list(available)}`);
}

function list(ids: readonly string[]): string {
  return ids.length === 0 ? "none" : ids.map((id) => `\`${id}\``).join(", ");
}

/**
 * A normalized manifest pass as the plain, manifest-named object that
 * `optimizeModel` (and `normalizePass`) take.
 */
export function passSpecOf(pass: Pass): PassSpec {
  switch (pass.kind) {
    case "quantize":
      if (pass.activations === "dynamic") {
        return { quantize: { weights: "int8", activations: "dynamic", symmetric: pass.symmetric, "exclude-nodes": [...pass.excludeNodes] } };
      }
      return {
        quantize: {
          weights: pass.weights,
          "block-size": pass.blockSize,
          symmetric: pass.symmetric,
          method: pass.method,
          ...(pass.accuracyLevel === undefined ? {} : { "accuracy-level": pass.accuracyLevel }),
          "exclude-nodes": [...pass.excludeNodes],
          ...(pass.overrides.length === 0
            ? {}
            : {
                overrides: pass.overrides.map((o) => ({
                  nodes: [...o.nodes],
                  ...(o.weights === undefined ? {} : { weights: o.weights }),
                  ...(o.blockSize === undefined ? {} : { "block-size": o.blockSize }),
                  ...(o.symmetric === undefined ? {} : { symmetric: o.symmetric }),
                  ...(o.method === undefined ? {} : { method: o.method }),
                  ...(o.accuracyLevel === undefined ? {} : { "accuracy-level": o.accuracyLevel }),
                })),
              }),
        },
      };
    case "convert":
      return { convert: { to: pass.to, "keep-io-types": pass.keepIoTypes, "keep-ops": [...pass.keepOps] } };
    case "prune":
      return { prune: { sparsity: pass.sparsity, scope: pass.scope } };
    case "graph-optimize":
      return { "graph-optimize": { level: pass.level, "allow-machine-specific": pass.allowMachineSpecific } };
  }
}

/** A variant that was built: where it is and what it is. */
export interface BuiltVariant {
  readonly ok: true;
  readonly model: string;
  readonly variant: string;
  /** The variant's `model.onnx`. */
  readonly path: string;
  /** The variant's identity (`@slmops/variant-identity`): the digest over `files`, what bench reports as `model-sha256`. */
  readonly digest: string;
  /** Bytes of every file of the variant (external data included). */
  readonly bytes: number;
  /** `model.onnx` first, then its external data. */
  readonly files: readonly ModelFile[];
  /** The fp32 source it was built from. */
  readonly source: ModelFiles;
  readonly passes: readonly PassRecord[];
  readonly durationMs: number;
}

/** A variant that failed; nothing of it was left on disk. */
export interface FailedVariant {
  readonly ok: false;
  readonly model: string;
  readonly variant: string;
  readonly error: unknown;
  readonly durationMs: number;
}

export type VariantOutcome = BuiltVariant | FailedVariant;

export interface BuildVariantsOptions {
  readonly manifest: Manifest;
  /** Directory that receives `<model>/<variant>/model.onnx`. */
  readonly outDir: string;
  /**
   * The repository root (the manifest's root): when `outDir` is inside it,
   * every directory from the root down is created or entered without
   * following a link, so a tree that ships `.slmops` as a link cannot send
   * the variants anywhere. Without it (or for an `outDir` outside it), the
   * same holds from `outDir` down, and `outDir` itself is created if missing.
   */
  readonly root?: string;
  readonly filter?: VariantFilter;
  /** A variant is about to be built (`index` of `count`). */
  readonly onVariantStart?: (selected: SelectedVariant, index: number, count: number) => void;
  /** Progress within the running variant, per tensor. */
  readonly onProgress?: (selected: SelectedVariant, progress: OptimizeProgress) => void;
  /** A variant finished, built or failed. */
  readonly onVariantEnd?: (outcome: VariantOutcome, index: number, count: number) => void;
  /**
   * The calibration text of a model, as token sequences, for variants with
   * `method: gptq` (its `calibration:`, else its eval set, tokenized). Asked
   * once per model, only when a selected variant needs it.
   */
  readonly calibrationFor?: (model: Model) => Promise<Calibration>;
}

/** Whether the variant has a pass that calibrates (`method: gptq`). */
export function needsCalibration(variant: Variant): boolean {
  return variant.passes.some((p) => p.kind === "quantize" && p.activations === "none" && (p.method === "gptq" || p.overrides.some((o) => o.method === "gptq")));
}

/**
 * Builds the selected variants one after another. Each is written into a
 * build directory beside its final place and published there (one atomic
 * rename of the `<variant>` link) only when every pass succeeded, so a
 * failure leaves nothing behind and a previous build of that variant stays
 * as it was; a process killed at any point leaves the old build or the new
 * one published, whole. Output directories are created without following
 * links, and nothing slmops did not make is replaced (see
 * `@slmops/contained-fs`). Throws only for a bad filter; a variant's own
 * failure is returned as a {@link FailedVariant}.
 */
export async function buildVariants(options: BuildVariantsOptions): Promise<VariantOutcome[]> {
  const selected = selectVariants(options.manifest, options.filter);
  const outcomes: VariantOutcome[] = [];
  const root = selected.length > 0 ? await outputRoot(options) : options.outDir;
  const calibrations = new Map<string, Promise<Calibration>>();
  for (const [index, entry] of selected.entries()) {
    options.onVariantStart?.(entry, index, selected.length);
    const outcome = await buildOne(entry, options, root, calibrations);
    outcomes.push(outcome);
    options.onVariantEnd?.(outcome, index, selected.length);
  }
  return outcomes;
}

async function buildOne(entry: SelectedVariant, options: BuildVariantsOptions, root: string, calibrations: Map<string, Promise<Calibration>>): Promise<VariantOutcome> {
  const started = performance.now();
  const model = entry.model.id;
  const variant = entry.variant.id;
  let build: Build | undefined;
  try {
    const target = variantDirectory(options.outDir, model, variant);
    let calibration: Calibration | undefined;
    if (needsCalibration(entry.variant) && options.calibrationFor) {
      let pending = calibrations.get(model);
      if (!pending) calibrations.set(model, (pending = options.calibrationFor(entry.model)));
      calibration = await pending;
    }
    build = await startBuild(root, join(options.outDir, model), variant);
    const record = await optimizeModel({
      ...(calibration ? { calibration } : {}),
      source: entry.model.source.resolved,
      passes: entry.variant.passes.map(passSpecOf),
      kind: entry.model.kind,
      executionProviders: executionProvidersOf(options.manifest),
      outDir: build.path,
      ...(options.onProgress ? { onProgress: (p: OptimizeProgress) => options.onProgress?.(entry, p) } : {}),
    });
    await publishBuild(build);
    build = undefined;
    const path = join(target, record.output.files[0]?.name ?? "model.onnx");
    return {
      ok: true,
      model,
      variant,
      path,
      digest: record.output.digest,
      bytes: record.output.bytes,
      files: record.output.files,
      source: record.source,
      passes: record.passes,
      durationMs: performance.now() - started,
    };
  } catch (error) {
    return { ok: false, model, variant, error, durationMs: performance.now() - started };
  } finally {
    if (build !== undefined) await discardBuild(build);
  }
}

/** Every execution provider the manifest's devices name (a variant may run on any device); `cpu` without devices. */
export function executionProvidersOf(manifest: Manifest): string[] {
  const providers = new Set(manifest.devices.flatMap((d) => d.executionProviders));
  return providers.size === 0 ? ["cpu"] : [...providers];
}

/** The directory nothing is written outside of, and below which no link is followed (see `root`). */
async function outputRoot(options: BuildVariantsOptions): Promise<string> {
  if (options.root !== undefined && pathInside(options.root, options.outDir) !== undefined) return options.root;
  await mkdir(options.outDir, { recursive: true });
  return options.outDir;
}
