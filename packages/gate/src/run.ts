/**
 * `slmops gate`: the manifest's gates over a directory of device reports,
 * against a baseline directory when there is one.
 */
import { ConfigurationError } from "@slmops/diagnostics";
import { loadManifestOrThrow, type Manifest } from "@slmops/manifest";
import { gatesFromManifest, knownFromManifest, planFromManifest } from "./manifest-gates.js";
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
  /**
   * Gate only these devices (the devices this run benchmarked, e.g. the plan
   * step's matrix or `local`); default: every device of the manifest.
   */
  readonly devices?: readonly string[];
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
  const plan = planFromManifest(loaded.manifest, options.devices && selectDevices(loaded.manifest, options.devices));
  const run = await loadReportsDirectory(options.reports, options.reportsDisplay ?? options.reports);
  let baseline: BaselineInput;
  if (options.baseline) {
    const shown = options.baselineDisplay ?? options.baseline;
    const reports = await loadReportsDirectory(options.baseline, shown);
    baseline =
      reports.files.length === 0
        ? { status: "missing", reason: `${shown} holds no bench reports` }
        : { status: "found", source: shown, results: reports.results, refused: reports.failures.filter((f) => f.refused) };
  } else {
    baseline = { status: "missing", reason: options.noBaselineReason ?? "no baseline reports were given (pass --baseline <dir>)" };
  }
  const verdict = evaluateGates({
    plan,
    results: run.results,
    failures: run.failures,
    baseline,
    gates: gatesFromManifest(loaded),
    known: knownFromManifest(loaded.manifest),
  });
  return { verdict, reportFiles: run.files };
}

/** The manifest's devices named in `ids`; an unknown id is the user's mistake. */
function selectDevices(manifest: Manifest, ids: readonly string[]): ReadonlySet<string> {
  const known = manifest.devices.map((d) => d.id);
  for (const id of ids) {
    if (!known.includes(id)) {
      throw new ConfigurationError(`unknown device \`${id}\`: the manifest's devices are ${known.map((k) => `\`${k}\``).join(", ")}`);
    }
  }
  return new Set(ids);
}
