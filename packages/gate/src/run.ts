/**
 * `slmops gate`: the manifest's gates over a directory of device reports,
 * against a baseline directory when there is one.
 */
import { ConfigurationError } from "@slmops/diagnostics";
import { loadManifestOrThrow, type Manifest } from "@slmops/manifest";
import { gatesFromManifest, knownFromManifest, planFromManifest } from "./manifest-gates.js";
import { loadReportsDirectory, type DeviceReports } from "./reports.js";
import { evaluateGates, variantMatches, type BaselineInput, type KnownPairs, type PlannedPair, type Verdict } from "./verdict.js";

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
   * step's matrix or `local`); default: every device of the manifest, or with
   * `reportedDevices` the devices that have a report in `reports`.
   */
  readonly devices?: readonly string[];
  /**
   * Without `devices`, gate the devices that reported (the local loop, where
   * one machine benchmarks itself) rather than every device of the manifest.
   */
  readonly reportedDevices?: boolean;
  /**
   * The id of the ad-hoc device a machine is benchmarked as when the manifest
   * does not define it (`LOCAL_DEVICE_ID` of `@slmops/device-plan`): accepted
   * as a device, every variant planned on it, every gate that names no
   * devices applied to it.
   */
  readonly adHocDevice?: string;
  /** Gate only these models' variants. */
  readonly models?: readonly string[];
  /** Gate only these variants: an id (in every selected model) or `model/variant`. */
  readonly variants?: readonly string[];
}

export interface GateRun {
  readonly verdict: Verdict;
  /** The report files read, by device. */
  readonly reportFiles: readonly { readonly file: string; readonly device: string }[];
  /** The reports the verdict was made from (those that passed the cross-check), for the report's context. */
  readonly reports: DeviceReports["reports"];
}

/** Loads the manifest and reports and evaluates the gates. User mistakes throw `ConfigurationError`. */
export async function runGate(options: GateRunOptions): Promise<GateRun> {
  const loaded = await loadManifestOrThrow(options.manifest, {
    checkFiles: false,
    ...(options.root ? { root: options.root } : {}),
    ...(options.manifestDisplay ? { displayPath: options.manifestDisplay } : {}),
  });
  const run = await loadReportsDirectory(options.reports, options.reportsDisplay ?? options.reports);
  const adHoc = options.adHocDevice !== undefined && !loaded.manifest.devices.some((d) => d.id === options.adHocDevice) ? options.adHocDevice : undefined;
  let devices = options.devices;
  if (devices === undefined && options.reportedDevices) {
    const reported = run.files.map((f) => f.device).filter((d) => d === adHoc || loaded.manifest.devices.some((m) => m.id === d));
    if (reported.length === 0) {
      throw new ConfigurationError(`${options.reportsDisplay ?? options.reports} holds no bench report of a device of the manifest. Run \`slmops bench\` first, or pass the reports directory.`);
    }
    devices = reported;
  }
  const plan = selectVariants(loaded.manifest, planFromManifest(loaded.manifest, devices && selectDevices(loaded.manifest, devices, adHoc)), options);
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
    known: withAdHoc(knownFromManifest(loaded.manifest), adHoc),
  });
  return { verdict, reportFiles: run.files, reports: run.reports };
}

/** The manifest's devices named in `ids` (and the ad-hoc device); an unknown id is the user's mistake. */
function selectDevices(manifest: Manifest, ids: readonly string[], adHoc: string | undefined): ReadonlySet<string> {
  const known = manifest.devices.map((d) => d.id);
  for (const id of ids) {
    if (!known.includes(id) && id !== adHoc) {
      const also = adHoc === undefined ? "" : `, and this machine is the ad-hoc device \`${adHoc}\``;
      throw new ConfigurationError(`unknown device \`${id}\`: the manifest's devices are ${quoted(known)}${also}`);
    }
  }
  return new Set(ids);
}

const quoted = (ids: readonly string[]): string => (ids.length === 0 ? "none" : ids.map((k) => `\`${k}\``).join(", "));

/** The pairs of `plan` whose variant the model and variant filters select; a filter naming nothing is the user's mistake. */
function selectVariants(manifest: Manifest, plan: PlannedPair[], filters: { readonly models?: readonly string[]; readonly variants?: readonly string[] }): PlannedPair[] {
  let models = manifest.models;
  if (filters.models) {
    for (const id of filters.models) {
      if (!models.some((m) => m.id === id)) throw new ConfigurationError(`unknown model \`${id}\`: the manifest's models are ${quoted(manifest.models.map((m) => m.id))}`);
    }
    models = models.filter((m) => filters.models?.includes(m.id));
  }
  const variants = models.flatMap((m) => m.variants.map((v) => `${m.id}/${v.id}`));
  for (const selector of filters.variants ?? []) {
    if (!variants.some((v) => variantMatches(selector, v))) throw new ConfigurationError(`unknown variant \`${selector}\`: the variants are ${quoted(variants)}`);
  }
  const selected = variants.filter((v) => !filters.variants || filters.variants.some((s) => variantMatches(s, v)));
  return plan.filter((p) => selected.includes(p.variant));
}

function withAdHoc(known: KnownPairs, adHoc: string | undefined): KnownPairs {
  return adHoc === undefined ? known : { ...known, devices: [...known.devices, adHoc] };
}
