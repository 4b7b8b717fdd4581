import { join, relative, resolve, sep } from "node:path";
import { ensureOutputParent } from "@slmops/contained-fs";
import type { BenchProgress, BenchReport } from "@slmops/bench";
import { ConfigurationError } from "@slmops/diagnostics";
import type { BenchSettingsOverrides } from "@slmops/device-plan";
import { BENCH_COUNT_BOUNDS, type BenchCountSetting } from "@slmops/manifest/bench-bounds";
import { parseDuration } from "@slmops/units";
import type { Command, CommandContext } from "../command.js";
import { jsonOption } from "../command.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { styleFor, type Style } from "../io.js";
import { loadValidManifest } from "../load-manifest.js";
import { MANIFEST_FILE_NAME, manifestOptionWording, resolveManifestPath } from "../manifest-path.js";
import { writingOutput } from "../output-path.js";
import { countOption, filterOption, filterSpec, stringOption } from "../options.js";
import { ProgressLine, terminalColumns } from "../progress.js";
import { count } from "../words.js";
import { DEFAULT_VARIANTS_DIR } from "@slmops/variant-identity";

/** Where `slmops bench` writes its report by default, and `slmops gate` reads, beside the manifest. */
export const DEFAULT_REPORTS_DIR = ".slmops/reports";

export const benchCommand: Command = {
  name: "bench",
  summary: "benchmark the built variants on this machine: latency, tokens/s, memory, accuracy against fp32",
  description:
    "Runs the same benchmark as the bench-on-device-matrix action, on this machine: each variant in its own\n" +
    "process under the manifest's run rules, decoders token by token, accuracy against the fp32 source.\n" +
    "Without --device this machine is the ad-hoc device `local` (CPU, ONNX Runtime's default threads);\n" +
    "with --device it takes that device's settings from slmops.yaml. Variants are read from\n" +
    `<variants-dir>/<model>/<variant>/model.onnx (default ${DEFAULT_VARIANTS_DIR} beside the manifest, where\n` +
    "`slmops optimize` writes them). The run-rule flags override the manifest's bench settings for quick runs.\n" +
    `The report is written to ${DEFAULT_REPORTS_DIR}/<device>.json beside the manifest, where \`slmops gate\` reads it.\n` +
    "Exits 0 when every variant was benchmarked, 1 when one failed. With --json, stdout is the report.",
  positionals: [],
  options: {
    manifest: { type: "string", valueName: "path", description: `the manifest, or a directory holding ${MANIFEST_FILE_NAME} (default: the nearest ${MANIFEST_FILE_NAME} here or above)` },
    device: { type: "string", valueName: "id", description: "benchmark as this device of the manifest (default: the ad-hoc device `local`)" },
    model: filterSpec("ids", "only these models' variants"),
    variant: filterSpec("ids", "only these variants: id or model/variant"),
    "variants-dir": { type: "string", valueName: "dir", description: `where the built variants are (default ${DEFAULT_VARIANTS_DIR} beside the manifest)` },
    out: { type: "string", valueName: "file", description: `write the report (JSON, validated) to this file (default ${DEFAULT_REPORTS_DIR}/<device>.json beside the manifest)` },
    "no-out": { type: "boolean", description: "do not write the report file" },
    "reference-dir": { type: "string", valueName: "dir", description: "where fp32 reference distributions are kept between runs (default .slmops/references)" },
    warmup: { type: "string", valueName: "n", description: "untimed iterations first (overrides the manifest)" },
    "min-iterations": { type: "string", valueName: "n", description: "at least this many timed iterations (overrides the manifest)" },
    "min-duration": { type: "string", valueName: "time", description: "and at least this long, e.g. 1s (overrides the manifest)" },
    "prompt-tokens": { type: "string", valueName: "n", description: "decoder prompt length (overrides the manifest)" },
    "generate-tokens": { type: "string", valueName: "n", description: "decoder tokens generated per iteration (overrides the manifest)" },
    timeout: { type: "string", valueName: "time", description: "kill a variant's process after this long, e.g. 5m (overrides the manifest)" },
    json: jsonOption,
  },
  examples: [
    "slmops bench",
    "slmops bench --variant int4 --min-duration 1s --min-iterations 5",
    "slmops bench --variant int4,int8 --variant fp16 --no-out",
    "slmops bench --manifest examples/story-lm --device rpi5 --out bench-rpi5.json",
    "slmops bench --json > report.json",
  ],
  run: runBench,
};

/** A string option's value, trimmed. */
function flag(context: CommandContext, name: string): string | undefined {
  return stringOption(context, name, "bench")?.trim();
}

/** A run-rule count flag, within the bounds the manifest's setting of the same name has. */
function wholeNumber(context: CommandContext, name: BenchCountSetting): number | undefined {
  return countOption(context, name, "bench", BENCH_COUNT_BOUNDS[name]);
}

function duration(context: CommandContext, name: string): number | undefined {
  const value = flag(context, name);
  if (value === undefined) return undefined;
  try {
    const ms = parseDuration(value);
    if (ms <= 0) throw new Error("must be longer than zero");
    return ms;
  } catch (error) {
    throw new UsageError(`Option \`--${name}\` must be a duration such as 500ms, 10s or 2m; got \`${value}\` (${(error as Error).message}).`, { command: "bench", cause: error });
  }
}

/** The run-rule flags given, as overrides of the manifest's bench settings. */
function overrides(context: CommandContext): BenchSettingsOverrides {
  const entries: [keyof BenchSettingsOverrides, number | undefined][] = [
    ["warmup", wholeNumber(context, "warmup")],
    ["minIterations", wholeNumber(context, "min-iterations")],
    ["minDurationMs", duration(context, "min-duration")],
    ["promptTokens", wholeNumber(context, "prompt-tokens")],
    ["generateTokens", wholeNumber(context, "generate-tokens")],
    ["timeoutMs", duration(context, "timeout")],
  ];
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as BenchSettingsOverrides;
}

async function runBench(context: CommandContext): Promise<number> {
  const { io, style } = context;
  const err = styleFor(io.stderrIsTTY, io.env);
  const json = context.values.json === true;
  const settings = overrides(context);
  const variants = filterOption(context, "variant", "bench");
  const out = flag(context, "out");
  if (out !== undefined && context.values["no-out"] === true) throw new UsageError("Options `--out` and `--no-out` contradict each other; pass one.", { command: "bench" });
  const display = (path: string) => relative(io.cwd, path).split(sep).join("/") || ".";

  const file = await resolveManifestPath(flag(context, "manifest"), io.cwd, manifestOptionWording("bench"));
  const loaded = await loadValidManifest(file, io, err);
  if (!loaded) return ExitCode.failure;

  const { benchJob, missingVariants } = await import("@slmops/device-plan");
  const variantsDirFlag = flag(context, "variants-dir");
  const variantsDir = variantsDirFlag === undefined ? join(loaded.root, DEFAULT_VARIANTS_DIR) : resolve(io.cwd, variantsDirFlag);
  const device = flag(context, "device");
  const model = filterOption(context, "model", "bench");
  const job = benchJob(loaded.manifest, {
    variantsDir,
    overrides: settings,
    ...(device !== undefined ? { device } : {}),
    ...(model !== undefined ? { model } : {}),
    ...(variants && variants.length > 0 ? { variants } : {}),
  });
  if (job.models.length === 0) throw new ConfigurationError(`${file.display} lists no variants to benchmark; add variants to a model and build them with \`slmops optimize\`.`);
  const missing = missingVariants(job);
  if (missing.length > 0) {
    throw new ConfigurationError(
      `${missing.map((m) => `${m.model}/${m.variant}`).join(", ")} ${missing.length === 1 ? "is" : "are"} not built ` +
        `(no ${missing.map((m) => display(m.path)).join(", ")}). Run \`slmops optimize\` first` +
        `${variantsDirFlag === undefined ? "" : `, or pass the --variants-dir it wrote to`}.`,
    );
  }

  // A machine that does not match the device is warned about, and benchmarked (the report records its own fingerprint).
  if (device !== undefined) await (await import("./doctor.js")).warnIfNotDevice(loaded.manifest, device, io);

  const referenceDirFlag = flag(context, "reference-dir");
  const referenceDir = referenceDirFlag === undefined ? join(loaded.root, ".slmops", "references") : resolve(io.cwd, referenceDirFlag);
  const progress = new ProgressLine(io.stderr, { isTTY: io.stderrIsTTY, columns: terminalColumns(io.stderr) });
  const { runBenchmark, writeReport, formatReportTable } = await import("@slmops/bench");
  io.stderr.write(`benchmarking ${count(job.models.reduce((n, m) => n + m.variants.length, 0), "variant")} as device \`${job.device.id}\`\n`);
  const report = await runBenchmark({ ...job, referenceDir, root: loaded.root, onProgress: (p) => showProgress(progress, p, err) }).finally(() => progress.clear());

  // What was measured is printed even when the report cannot be written; the write's error comes after it.
  const reportPath = context.values["no-out"] === true ? undefined : out !== undefined ? resolve(io.cwd, out) : join(loaded.root, DEFAULT_REPORTS_DIR, `${job.device.id}.json`);
  let writeFailure: { error: unknown } | undefined;
  if (reportPath !== undefined) {
    const path = reportPath;
    try {
      await writingOutput({ name: "--out", value: out ?? path }, io.cwd, async () => {
        // Inside the repository, no link on the way to the report is followed.
        await ensureOutputParent(loaded.root, path);
        await writeReport(path, report);
      });
    } catch (error) {
      writeFailure = { error };
    }
  }
  // The fp32 source's row is the yardstick, not a variant asked for: it is shown, but neither counted nor failing the command.
  const { isSourceResult } = await import("@slmops/bench");
  const failed = report.results.filter((r) => r.status === "failed" && !isSourceResult(r));
  if (json) {
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    io.stdout.write(`${formatReportTable(report)}\n`);
    io.stdout.write(verdict(report, failed.length, reportPath === undefined || writeFailure ? undefined : display(reportPath), style, isSourceResult));
  }
  if (writeFailure) throw writeFailure.error;
  return failed.length === 0 ? ExitCode.ok : ExitCode.failure;
}

function showProgress(progress: ProgressLine, p: BenchProgress, style: Style): void {
  const at = `[${p.index}/${p.total}] ${p.model}/${p.variant ?? "fp32 reference"}`;
  if (p.phase === "done") progress.milestone(`${style.green("✓")} ${at}`);
  else if (p.phase === "failed") progress.milestone(`${style.red("✗")} ${at} failed: ${p.message ?? ""}`);
  else if (p.phase === "reference") progress.milestone(`${at}: computing the reference distributions`);
  else {
    const iterations = p.iterations !== undefined ? ` ${p.iterations} iterations, ${((p.elapsedMs ?? 0) / 1000).toFixed(1)} s` : "";
    progress.update(`${at} ${p.phase}${iterations}`);
  }
}

function verdict(report: BenchReport, failed: number, out: string | undefined, style: Style, isSource: (r: BenchReport["results"][number]) => boolean): string {
  const total = report.results.filter((r) => !isSource(r)).length;
  const written = out === undefined ? "" : `; report written to ${out}`;
  const source = report.results.filter((r) => isSource(r) && r.status === "failed");
  const note = source.length === 0 ? "" : `${style.yellow("!")} the fp32 source could not be benchmarked (${source.map((r) => r.model).join(", ")}), so there is no fp32 row to compare with\n`;
  return (
    note +
    (failed === 0
      ? `${style.green("✓")} ${count(total, "variant")} benchmarked on \`${report.device.id}\`${written}\n`
      : `${style.red("✗")} ${failed} of ${count(total, "variant")} failed on \`${report.device.id}\`${written}\n`)
  );
}
