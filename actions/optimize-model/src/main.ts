import { existsSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import * as core from "@actions/core";
import {
  code,
  ConfigurationError,
  getPathInput,
  getStringInput,
  heading,
  paragraph,
  setOutputs,
  table,
  workspaceDirectory,
  writeSummary,
  type Cell,
} from "@slmops/action-kit";
import { describeError } from "@slmops/diagnostics";
import { loadManifest } from "@slmops/manifest";
import { loadCalibration } from "@slmops/bench";
import { buildVariants, UnknownVariantFilterError, type BuiltVariant, type VariantOutcome } from "@slmops/optimize";
import { formatSize } from "@slmops/units";
import { DEFAULT_VARIANTS_DIR } from "@slmops/variant-identity";


/** One entry of the `variants` output. */
export interface VariantOutput {
  readonly model: string;
  readonly variant: string;
  /** The variant's model.onnx, relative to the workspace. */
  readonly path: string;
  /** The variant's identity digest over all its files (`@slmops/variant-identity`), as bench reports it in `model-sha256`. */
  readonly digest: string;
  /** Bytes of every file of the variant, external data included. */
  readonly bytes: number;
}

/**
 * The action: build the variants of the manifest named by `manifest`
 * (filtered by `model` and `variant`) into `output-dir`, list them in the job
 * summary, and set the `variants`, `variant-count` and `output-dir` outputs.
 * A variant that fails leaves nothing behind; the others are still built and
 * the step fails at the end.
 */
export async function main(): Promise<void> {
  const workspace = workspaceDirectory();
  const manifest = getPathInput("manifest", { fallback: "slmops.yaml" });
  if (!manifest) throw new ConfigurationError("Input `manifest` is empty; name the manifest file, e.g. `slmops.yaml`.");
  const model = getStringInput("model") || undefined;
  const variant = getStringInput("variant") || undefined;
  const outputInput = getPathInput("output-dir");

  if (!existsSync(manifest.absolute) || !statSync(manifest.absolute).isFile()) {
    throw new ConfigurationError(
      `Manifest \`${manifest.relative}\` not found in the workspace. Check out the repository first (actions/checkout) or set the \`manifest\` input to its path.`,
    );
  }
  const loaded = await loadManifest(manifest.absolute, { checkFiles: true, displayPath: manifest.relative });
  if (!loaded.ok) {
    const errors = loaded.diagnostics.filter((d) => d.severity === "error").length;
    throw new ConfigurationError(
      `${manifest.relative} is invalid: ${errors} problem${errors === 1 ? "" : "s"}, each annotated on its line. Fix them (slmops validate shows them locally) and run again.`,
      { diagnostics: loaded.diagnostics },
    );
  }
  const outDir = outputInput?.absolute ?? join(loaded.root, DEFAULT_VARIANTS_DIR);
  const shown = (path: string) => relative(workspace, path).split(sep).join("/") || ".";

  let outcomes: VariantOutcome[];
  try {
    outcomes = await buildVariants({
      manifest: loaded.manifest,
      root: workspace,
      outDir,
      filter: { ...(model ? { model } : {}), ...(variant ? { variant } : {}) },
      calibrationFor: (m) => loadCalibration(m),
      onProgress: (s, p) => {
        if (p.done === 0) core.info(`${s.model.id}/${s.variant.id}: pass ${p.pass + 1}/${p.passCount} ${p.description}`);
      },
      onVariantEnd: (o) => {
        if (o.ok) core.info(`✓ ${o.model}/${o.variant}: ${formatSize(o.bytes)}, digest ${o.digest}, ${seconds(o.durationMs)}`);
        else core.error(`${o.model}/${o.variant} failed: ${describeError(o.error)}`);
      },
    });
  } catch (error) {
    if (error instanceof UnknownVariantFilterError) {
      throw new ConfigurationError(`Input \`${error.filter}\`: ${error.message}.`, { cause: error });
    }
    throw error;
  }

  const built = outcomes.filter((o): o is BuiltVariant => o.ok);
  const failed = outcomes.filter((o) => !o.ok);
  const list: VariantOutput[] = built.map((b) => ({ model: b.model, variant: b.variant, path: shown(b.path), digest: b.digest, bytes: b.bytes }));
  setOutputs({ variants: JSON.stringify(list), "variant-count": String(list.length), "output-dir": shown(outDir) });

  const verdict =
    failed.length === 0
      ? `${count(built.length, "variant")} built into ${shown(outDir)}.`
      : `${failed.length} of ${count(outcomes.length, "variant")} failed; ${built.length} built into ${shown(outDir)}.`;
  core.info(verdict);
  await writeSummary([
    heading(`slmops variants: ${failed.length === 0 ? `${built.length} built` : `${failed.length} failed`}`),
    paragraph(`${verdict} Manifest: ${manifest.relative}.`),
    ...(outcomes.length > 0 ? [summaryTable(outcomes)] : []),
  ]);
  if (failed.length > 0) {
    throw new ConfigurationError(
      `${verdict} Failed: ${failed.map((f) => `${f.model}/${f.variant}`).join(", ")} (reasons in the log above).`,
    );
  }
}

function summaryTable(outcomes: readonly VariantOutcome[]): string {
  const rows: Cell[][] = outcomes.map((o) =>
    o.ok
      ? [
          o.model,
          o.variant,
          o.passes.map((p) => p.description).join(" → "),
          formatSize(o.bytes),
          `${(o.bytes / o.source.bytes).toFixed(3)}×`,
          { html: code(o.digest.slice(0, 12)) },
          seconds(o.durationMs),
        ]
      : [o.model, o.variant, `failed: ${firstLine(o.error)}`, "", "", "", seconds(o.durationMs)],
  );
  return table(["model", "variant", "passes", "size", "vs fp32", "digest", "time"], rows);
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
