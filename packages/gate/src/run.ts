/**
 * `slmops gate`: the manifest's gates over a directory of device reports,
 * against a baseline directory when there is one.
 */
import { loadManifestOrThrow } from "@slmops/manifest";
import { gatesFromManifest, planFromManifest } from "./manifest-gates.js";
import { loadReportsDirectory } from "./reports.js";
import { evaluateGates, type BaselineInput, type Verdict } from "./verdict.js";

export interface GateRunOptions {
  /** Path of `slmops.yaml`. */
  readonly manifest: string;
  /** How to show the manifest's path in messages. */
  readonly manifestDisplay?: string;
  /** Repository root (default: the manifest's directory). */
  readonly root?: string;
  /** Directory with the run's device reports. */
  readonly reports: string;
  readonly reportsDisplay?: string;
  /** Directory with the baseline's reports; none means no baseline. */
  readonly baseline?: string;
  readonly baselineDisplay?: string;
  /** Why there is no baseline, when `baseline` is not given. */
  readonly noBaselineReason?: string;
}

export interface GateRun {
  readonly verdict: Verdict;
  /** The report files read, by device. */
  readonly reportFiles: readonly { readonly file: string; readonly device: string }[];
}

/** Loads the manifest and reports and evaluates the gates. User mistakes throw `ConfigurationError`. */
export async function runGate(options: GateRunOptions): Promise<GateRun> {
  const loaded = await loadManifestOrThrow(options.manifest, {
    checkFiles: false,
    ...(options.root ? { root: options.root } : {}),
    ...(options.manifestDisplay ? { displayPath: options.manifestDisplay } : {}),
  });
  const run = await loadReportsDirectory(options.reports, options.reportsDisplay ?? options.reports);
  let baseline: BaselineInput;
  if (options.baseline) {
    const shown = options.baselineDisplay ?? options.baseline;
    const reports = await loadReportsDirectory(options.baseline, shown);
    baseline =
      reports.files.length === 0 ? { status: "missing", reason: `${shown} holds no bench reports` } : { status: "found", source: shown, results: reports.results };
  } else {
    baseline = { status: "missing", reason: options.noBaselineReason ?? "no baseline reports were given (pass --baseline <dir>)" };
  }
  const verdict = evaluateGates({
    plan: planFromManifest(loaded.manifest),
    results: run.results,
    failures: run.failures,
    baseline,
    gates: gatesFromManifest(loaded),
  });
  return { verdict, reportFiles: run.files };
}
