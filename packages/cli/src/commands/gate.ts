import { stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";
import type { Command, CommandContext } from "../command.js";
import { jsonOption } from "../command.js";
import { ExitCode } from "../exit-codes.js";
import { resolveManifestPath, type ManifestPathWording } from "../manifest-path.js";
import { filterOption, filterSpec, stringOption } from "../options.js";
import { writingOutput } from "../output-path.js";
import { DEFAULT_REPORTS_DIR } from "./bench.js";

/** `slmops gate --json` output: the outcome and the whole verdict (non-finite numbers as null). */
export interface GateJson {
  readonly outcome: "pass" | "fail" | "inconclusive";
  readonly verdict: unknown;
}

export const gateCommand: Command = {
  name: "gate",
  summary: "one verdict from the device reports: limits, regressions against a baseline, missing devices",
  description:
    "Reads every bench report under <reports-dir>, evaluates the gates of slmops.yaml on each planned\n" +
    "(device, variant) pair, and compares with the baseline reports when --baseline is given (a seeded\n" +
    "bootstrap interval: pass, fail, or inconclusive). A planned device without a report fails.\n" +
    "For each device it lists which gates applied and which did not, and why.\n" +
    `Without <reports-dir> it reads ${DEFAULT_REPORTS_DIR} beside the manifest, where \`slmops bench\` writes, and\n` +
    "gates the devices reported there (the ad-hoc device `local` included); with it, every device of the\n" +
    "manifest is planned. Exits 0 when every check passed, 1 otherwise (inconclusive too, unless\n" +
    "--allow-inconclusive).",
  positionals: [{ name: "reports-dir", description: `the directory the benchmark wrote its reports to (default ${DEFAULT_REPORTS_DIR} beside the manifest)`, optional: true }],
  options: {
    manifest: { type: "string", valueName: "file", description: "the manifest (default: slmops.yaml in this directory or the nearest one above it)" },
    root: { type: "string", valueName: "dir", description: "repository root (default: the manifest's directory)" },
    device: filterSpec("ids", "gate only these devices, `local` included (default: every device of the manifest, or those that reported)"),
    model: filterSpec("ids", "gate only these models' variants"),
    variant: filterSpec("ids", "gate only these variants: id or model/variant"),
    baseline: { type: "string", valueName: "dir", description: "reports of the base branch to compare with" },
    markdown: { type: "string", valueName: "file", description: "also write the report as Markdown (for a PR comment or job summary)" },
    html: { type: "string", valueName: "file", description: "also write the report as one self-contained HTML file (charts you can hover; loads nothing)" },
    "allow-inconclusive": { type: "boolean", description: "exit 0 when the verdict is inconclusive" },
    json: jsonOption,
  },
  examples: ["slmops gate", "slmops gate out/reports --device local --variant int4,int8", "slmops gate out/reports --baseline baseline/reports --markdown report.md --html report.html", "slmops gate out/reports --json | jq .outcome"],
  run: runGateCommand,
};

function shown(absolute: string, given: string, cwd: string): string {
  return isAbsolute(given) ? absolute : relative(cwd, absolute).split(sep).join("/") || ".";
}

/** The manifest is `--manifest <file>`; every way of missing it says the same. */
const none = (cwd: string) => `No slmops.yaml in ${cwd} or a directory above it. Run slmops in the repository that holds it, or pass --manifest path/to/slmops.yaml.`;
const noSuchFile = (given: string) => `--manifest ${given}: no such file. Pass the path of slmops.yaml.`;
const wording: ManifestPathWording = {
  noneInWorkingDirectory: none,
  notFound: noSuchFile,
  directoryWithoutManifest: (given, _display, cwd) => (given === undefined ? none(cwd) : noSuchFile(given)),
  // A FIFO, socket or device is told as what it is (the default wording), not as a missing file.
};

async function runGateCommand(context: CommandContext): Promise<number> {
  const { io, style, values } = context;
  const devices = filterOption(context, "device", "gate");
  const models = filterOption(context, "model", "gate");
  const variants = filterOption(context, "variant", "gate");
  const manifest = await resolveManifestPath(stringOption(context, "manifest", "gate"), io.cwd, wording);
  const reportsGiven = context.positionals[0];
  const reports = reportsGiven === undefined ? join(dirname(manifest.absolute), DEFAULT_REPORTS_DIR) : resolve(io.cwd, reportsGiven);
  const reportsDisplay = shown(reports, reportsGiven ?? DEFAULT_REPORTS_DIR, io.cwd);
  if (reportsGiven === undefined && !(await stat(reports).catch(() => undefined))?.isDirectory()) {
    throw new ConfigurationError(
      `No bench reports yet: ${reportsDisplay} (beside ${manifest.display}) does not exist. Run \`slmops bench\` first, it writes there, or pass the reports directory: slmops gate <reports-dir>`,
    );
  }
  const baselineGiven = stringOption(context, "baseline", "gate");
  const baseline = baselineGiven === undefined ? undefined : resolve(io.cwd, baselineGiven);

  const { runGate } = await import("@slmops/gate/reports");
  const { formatVerdictText } = await import("@slmops/gate");
  const { LOCAL_DEVICE_ID } = await import("@slmops/device-plan");
  const { verdict, reports: gatedReports } = await runGate({
    manifest: manifest.absolute,
    manifestDisplay: manifest.display,
    ...(typeof values.root === "string" ? { root: resolve(io.cwd, values.root) } : {}),
    reports,
    reportsDisplay,
    adHocDevice: LOCAL_DEVICE_ID,
    // The local loop: one machine benchmarked itself; the devices that did not run here are not missing.
    reportedDevices: reportsGiven === undefined,
    ...(devices ? { devices } : {}),
    ...(models ? { models } : {}),
    ...(variants ? { variants } : {}),
    ...(baseline && baselineGiven ? { baseline, baselineDisplay: shown(baseline, baselineGiven, io.cwd) } : {}),
  });

  // The verdict is printed even when the Markdown cannot be written; the write's error comes after it.
  let writeFailure: { error: unknown } | undefined;
  const outputs = [
    ...(typeof values.markdown === "string" ? [{ name: "--markdown", value: values.markdown }] : []),
    ...(typeof values.html === "string" ? [{ name: "--html", value: values.html }] : []),
  ];
  if (outputs.length > 0) {
    const { renderReport } = await import("@slmops/github-report");
    const { renderHtmlReport } = await import("@slmops/html-report");
    const { writeFileAtomic } = await import("@slmops/atomic-file");
    const { ensureOutputParent } = await import("@slmops/contained-fs");
    const root = typeof values.root === "string" ? resolve(io.cwd, values.root) : dirname(manifest.absolute);
    // The reports the verdict was made from (read once): each device's fingerprint, run rules, fp32 row and spread.
    const context = { reports: gatedReports };
    for (const output of outputs) {
      try {
        await writingOutput(output, io.cwd, async () => {
          // Inside the repository, no link on the way to the file is followed.
          const path = await ensureOutputParent(root, resolve(io.cwd, output.value));
          await writeFileAtomic(path, output.name === "--html" ? renderHtmlReport(verdict, { context }) : renderReport(verdict, { marker: false, context }));
        });
      } catch (error) {
        writeFailure ??= { error };
      }
    }
  }
  if (values.json === true) {
    const output: GateJson = { outcome: verdict.outcome, verdict };
    io.stdout.write(`${JSON.stringify(output, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`);
  } else {
    io.stdout.write(formatVerdictText(verdict, style));
  }
  if (writeFailure) throw writeFailure.error;
  if (verdict.outcome === "pass") return ExitCode.ok;
  if (verdict.outcome === "inconclusive" && values["allow-inconclusive"] === true) return ExitCode.ok;
  return ExitCode.failure;
}
