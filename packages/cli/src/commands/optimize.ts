import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { ConfigurationError, describeError } from "@slmops/diagnostics";
import type { BuiltVariant, OptimizeProgress, PassRecord, SelectedVariant, VariantOutcome } from "@slmops/optimize";
import { formatSize } from "@slmops/units";
import { DEFAULT_VARIANTS_DIR } from "@slmops/variant-identity";
import type { Command, CommandContext } from "../command.js";
import { jsonOption } from "../command.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { styleFor, type Style } from "../io.js";
import { loadValidManifest } from "../load-manifest.js";
import { MANIFEST_FILE_NAME, manifestOptionWording, resolveManifestPath } from "../manifest-path.js";
import { filterOption, filterSpec, stringOption } from "../options.js";
import { ProgressLine, progressBar, terminalColumns } from "../progress.js";
import { closest } from "../suggest.js";
import { count } from "../words.js";

/** One built variant in `slmops optimize --json` output. */
export interface OptimizeJsonVariant {
  readonly model: string;
  readonly variant: string;
  /** The variant's model.onnx, relative to the working directory (absolute when --out was). */
  readonly path: string;
  /** The variant's identity digest over all its files (`@slmops/variant-identity`), as bench reports it in `model-sha256`. */
  readonly digest: string;
  /** Bytes of every file of the variant, external data included. */
  readonly bytes: number;
  /** Each file of the variant: name (beside model.onnx), bytes, sha256. */
  readonly files: readonly { readonly name: string; readonly bytes: number; readonly sha256: string }[];
  /** Bytes of the fp32 source model. */
  readonly sourceBytes: number;
  readonly durationMs: number;
  /** What each pass did, in order. */
  readonly passes: readonly PassRecord[];
}

export const optimizeCommand: Command = {
  name: "optimize",
  summary: "build the optimized variants slmops.yaml lists (int4, int8, fp16, pruned) from the fp32 models",
  description:
    "Validates the manifest, then runs each selected variant's passes on its model's source and writes the\n" +
    `variant to <out>/<model>/<variant>/model.onnx (default out: ${DEFAULT_VARIANTS_DIR} under the manifest's directory).\n` +
    "A variant is written whole or not at all: one that fails leaves no output, the others still run,\n" +
    "and the command exits 1. With --json, stdout lists the variants built:\n" +
    "[{model, variant, path, digest, bytes, files, sourceBytes, durationMs, passes}].",
  positionals: [],
  options: {
    manifest: { type: "string", valueName: "path", description: `the manifest, or a directory holding ${MANIFEST_FILE_NAME} (default: the nearest ${MANIFEST_FILE_NAME} here or above)` },
    model: filterSpec("ids", "build only these models' variants"),
    variant: filterSpec("ids", "build only these variants (id or model/variant)"),
    out: { type: "string", valueName: "dir", description: `directory for the variants (default ${DEFAULT_VARIANTS_DIR} beside the manifest)` },
    json: jsonOption,
  },
  examples: [
    "slmops optimize",
    "slmops optimize --manifest examples/story-lm --variant int4,int8 --variant fp16",
    "slmops optimize --model story-lm --out build/variants --json",
  ],
  run: runOptimize,
};

async function runOptimize(context: CommandContext): Promise<number> {
  const { io, style } = context;
  const err = styleFor(io.stderrIsTTY, io.env);
  const json = context.values.json === true;
  const manifestFlag = stringOption(context, "manifest", "optimize");
  const outFlag = stringOption(context, "out", "optimize");
  const filter = { model: filterOption(context, "model", "optimize"), variant: filterOption(context, "variant", "optimize") };
  const display = (path: string, absolute: boolean) => (absolute ? path : relative(io.cwd, path).split(sep).join("/") || ".");

  const file = await resolveManifestPath(manifestFlag, io.cwd, manifestOptionWording("optimize"));
  const loaded = await loadValidManifest(file, io, err);
  if (!loaded) return ExitCode.failure;

  const { buildVariants, selectVariants, UnknownVariantFilterError } = await import("@slmops/optimize");
  let selected: SelectedVariant[];
  try {
    selected = selectVariants(loaded.manifest, clean(filter));
  } catch (error) {
    if (error instanceof UnknownVariantFilterError) {
      const suggestion = closest(error.given, error.available);
      throw new UsageError(`Unknown ${error.filter} \`${error.given}\` in ${file.display}.`, {
        command: "optimize",
        hint: suggestion
          ? `did you mean \`--${error.filter} ${suggestion}\`?`
          : `the ${error.filter}s are: ${error.available.join(", ") || "none"}.`,
        cause: error,
      });
    }
    if (error instanceof ConfigurationError) throw new UsageError(error.message, { command: "optimize", cause: error });
    throw error;
  }
  if (selected.length === 0) {
    io.stderr.write(`${file.display} lists no variants; nothing to build.\n`);
    if (json) io.stdout.write("[]\n");
    return ExitCode.ok;
  }

  const outDir = outFlag === undefined ? join(loaded.root, DEFAULT_VARIANTS_DIR) : resolve(io.cwd, outFlag);
  const outAbsolute = outFlag !== undefined && isAbsolute(outFlag);
  const progress = new ProgressLine(io.stderr, { isTTY: io.stderrIsTTY, columns: terminalColumns(io.stderr) });
  const name = (s: SelectedVariant) => `${s.model.id}/${s.variant.id}`;
  let current = "";
  let lastPass = -1;
  const outcomes = await buildVariants({
    manifest: loaded.manifest,
    root: loaded.root,
    outDir,
    filter: clean(filter),
    calibrationFor: async (model) => {
      const { loadCalibration } = await import("@slmops/bench");
      return loadCalibration(model);
    },
    onVariantStart: (s, index, count) => {
      current = `[${index + 1}/${count}] ${name(s)}`;
      lastPass = -1;
      progress.update(`${current} starting`, true);
    },
    onProgress: (s, p) => {
      if (p.pass !== lastPass) {
        lastPass = p.pass;
        if (!io.stderrIsTTY) progress.milestone(`${current}: ${p.description}`);
      }
      progress.update(progressText(current, p), p.done === p.total);
    },
    onVariantEnd: (outcome) => {
      if (outcome.ok) {
        progress.milestone(`${err.green("✓")} ${outcome.model}/${outcome.variant} ${formatSize(outcome.bytes)} in ${seconds(outcome.durationMs)}`);
      } else {
        progress.milestone(`${err.red("✗")} ${outcome.model}/${outcome.variant} failed: ${failureText(outcome.error)}`);
      }
    },
  }).finally(() => progress.clear());

  const built = outcomes.filter((o): o is BuiltVariant => o.ok);
  const failed = outcomes.length - built.length;
  if (json) {
    const list: OptimizeJsonVariant[] = built.map((b) => ({
      model: b.model,
      variant: b.variant,
      path: display(b.path, outAbsolute),
      digest: b.digest,
      bytes: b.bytes,
      files: b.files,
      sourceBytes: b.source.bytes,
      durationMs: Math.round(b.durationMs),
      passes: b.passes,
    }));
    io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
  } else {
    io.stdout.write(summaryTable(outcomes, style));
    io.stdout.write(
      failed === 0
        ? `${style.green("✓")} ${count(built.length, "variant")} written to ${display(outDir, outAbsolute)}\n`
        : `${style.red("✗")} ${failed} of ${count(outcomes.length, "variant")} failed; ${built.length} written to ${display(outDir, outAbsolute)}\n`,
    );
  }
  return failed === 0 ? ExitCode.ok : ExitCode.failure;
}

function progressText(current: string, p: OptimizeProgress): string {
  // The bar first, so it survives when a narrow terminal cuts the line.
  const pass = p.passCount > 1 ? `pass ${p.pass + 1}/${p.passCount} ` : "";
  return `${current} ${progressBar(p.done, p.total)} ${p.done}/${p.total} ${pass}${p.description}${p.tensor ? ` ${p.tensor}` : ""}`;
}

function failureText(error: unknown): string {
  if (error instanceof ConfigurationError) return describeError(error);
  return `internal error, please report it:\n${describeError(error)}`;
}

/** The summary table: model, variant, passes, bytes, ratio to fp32, digest prefix, time. */
export function summaryTable(outcomes: readonly VariantOutcome[], style: Style): string {
  const header = ["model", "variant", "passes", "size", "vs fp32", "digest", "time"];
  const rows = outcomes.map((o) =>
    o.ok
      ? [o.model, o.variant, o.passes.map((p) => p.options.name).join(" → "), formatSize(o.bytes), `${(o.bytes / o.source.bytes).toFixed(3)}×`, o.digest.slice(0, 12), seconds(o.durationMs)]
      : [o.model, o.variant, "failed", "", "", "", seconds(o.durationMs)],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? "")].length)));
  const right = new Set([3, 4, 6]);
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join("  ").trimEnd();
  const out = [style.bold(line(header)), ...rows.map((r) => (r[2] === "failed" ? style.red(line(r)) : line(r)))];
  return `${out.join("\n")}\n`;
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}

function clean(filter: { model: string[] | undefined; variant: string[] | undefined }): { model?: string[]; variant?: string[] } {
  return { ...(filter.model === undefined ? {} : { model: filter.model }), ...(filter.variant === undefined ? {} : { variant: filter.variant }) };
}
