/**
 * The device plan: which (device, model, variant) combinations a change
 * touches, as a GitHub Actions strategy matrix with one job per device, and
 * which devices were refused (never silently dropped).
 */
import type { Manifest } from "@slmops/manifest";
import { refusal } from "./fork-safety.js";
import type { Requester } from "./fork-safety.js";
import { touchAll, touchedBy, variantKey } from "./touched.js";
import type { Change, TouchedScope } from "./touched.js";

/** One device job of the matrix. */
export interface MatrixEntry {
  /** The device id (the run step's `device` input). */
  readonly device: string;
  /** The device's runner labels, for `runs-on: ${{ matrix.runs-on }}`. */
  readonly "runs-on": readonly string[];
  /** Ids of the models with variants to benchmark. */
  readonly models: readonly string[];
  /** The variants to benchmark, as `model/variant`. */
  readonly variants: readonly string[];
}

/** A GitHub Actions `strategy.matrix` value: `matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}`. */
export interface StrategyMatrix {
  readonly include: readonly MatrixEntry[];
}

/** A device the change touches that may not run, and why. */
export interface RefusedDevice {
  readonly device: string;
  readonly "runs-on": readonly string[];
  /** The variants it would have benchmarked, as `model/variant`. */
  readonly variants: readonly string[];
  readonly reason: string;
}

export interface PlanInput {
  /** The manifest after the change, normalized. */
  readonly manifest: Manifest;
  /**
   * The change: the files it touched and the manifest on its base. Undefined
   * when there is no change to compare (a new branch, a manual or scheduled
   * run): every device is planned.
   */
  readonly change?: Change;
  /** The manifest's root relative to the repository root, `/`-separated (`""`: the same). Default `""`. */
  readonly rootInRepository?: string;
  /** Plan every device and variant, whatever the change. */
  readonly all?: boolean;
  /** Who asks: a pull request from a fork may not use self-hosted devices unless allowed. Default: not a fork. */
  readonly requester?: Requester;
}

export interface DevicePlan {
  /** One entry per device that runs; its `include` is empty when nothing needs benchmarking. */
  readonly matrix: StrategyMatrix;
  /** Touched devices that may not run, with the reason. */
  readonly refused: readonly RefusedDevice[];
  /** Devices the change does not touch. */
  readonly untouched: readonly string[];
  /** Why each planned or refused device was touched (device id → reasons). */
  readonly reasons: Readonly<Record<string, readonly string[]>>;
}

function scopeOf(input: PlanInput): TouchedScope {
  if (input.all) return touchAll("every device was requested");
  if (!input.change) return touchAll("there is no earlier state to compare with");
  return touchedBy(input.manifest, input.change, input.rootInRepository ?? "");
}

/**
 * Plans the benchmark jobs for a change: every variant of every model whose
 * source, eval set or tokenizer changed; every variant whose passes changed
 * or that is new; every variant on a device whose entry changed or that is
 * new; everything when bench settings or gates changed, when the manifest is
 * new, or on request. Devices on self-hosted runners are refused for a pull
 * request from a fork unless allowed (see {@link refusal}).
 */
export function planDevices(input: PlanInput): DevicePlan {
  const { manifest } = input;
  const scope = scopeOf(input);
  const requester = input.requester ?? { fromFork: false };
  const include: MatrixEntry[] = [];
  const refused: RefusedDevice[] = [];
  const untouched: string[] = [];
  const reasons: Record<string, string[]> = {};

  for (const device of manifest.devices) {
    const whole = [...scope.all, ...(scope.devices.get(device.id) ?? [])];
    const why = new Set<string>(whole);
    const variants: string[] = [];
    const models: string[] = [];
    for (const model of manifest.models) {
      for (const variant of model.variants) {
        const key = variantKey(model.id, variant.id);
        const own = [...(scope.models.get(model.id) ?? []), ...(scope.variants.get(key) ?? [])];
        if (whole.length === 0 && own.length === 0) continue;
        for (const reason of own) why.add(reason);
        variants.push(key);
        if (!models.includes(model.id)) models.push(model.id);
      }
    }
    if (variants.length === 0) {
      untouched.push(device.id);
      continue;
    }
    reasons[device.id] = [...why];
    const refusedBecause = refusal(device, requester, input.change?.baseManifest);
    if (refusedBecause) refused.push({ device: device.id, "runs-on": [...device.runsOn], variants, reason: refusedBecause });
    else include.push({ device: device.id, "runs-on": [...device.runsOn], models, variants });
  }
  return { matrix: { include }, refused, untouched, reasons };
}
