/**
 * One verdict from every device's results: absolute limits and regression
 * checks per (device, variant) pair of the plan, a failure for every pair that
 * did not report, and the worst outcome overall. Deterministic for the same
 * inputs.
 */
import { ConfigurationError } from "@slmops/diagnostics";
import { compareFingerprints, describeFingerprintDifferences, type Fingerprint } from "./fingerprint.js";
import { formatMetricValue } from "./format.js";
import { evaluateLimit, type LimitResult, type MetricLimit, type MetricsRecord } from "./limits.js";
import { METRICS, type MetricName, type SampleSeries } from "./metrics.js";
import { compareSamples, compareValues, type CheckOutcome, type RegressionResult } from "./regression.js";

/** The results one device reported for one variant. */
export interface DeviceResult {
  readonly device: string;
  /** Variant id, `model/variant` where there are several models. */
  readonly variant: string;
  readonly fingerprint: Fingerprint;
  /** Summary metrics in base units (ms, bytes, tokens/s, fraction, nats). */
  readonly metrics: MetricsRecord;
  /** Raw samples behind the latency and throughput metrics. */
  readonly samples?: Readonly<Partial<Record<SampleSeries, readonly number[]>>>;
  /** The identity digest of the variant measured (`@slmops/variant-identity`), as the report gives it. */
  readonly modelSha256?: string;
}

/** A place in `slmops.yaml`, for annotations on the gate that failed. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export interface RegressionRequirement {
  readonly metric: MetricName;
  /** Allowed worsening as a fraction (`max-increase` or `max-decrease`). */
  readonly maxChange: number;
  /** Default 0.95. */
  readonly confidence?: number;
  /** Inconclusive, not skipped, while the base branch has no baseline yet (`require-baseline: true`). */
  readonly requireBaseline?: boolean;
}

/** One gate of the manifest, with units already resolved to base units. */
export interface GateDefinition {
  readonly name: string;
  /** Where it stands in the manifest, e.g. `gates[0]`, so a reader can find it. */
  readonly ref?: string;
  /** Devices it applies to; all planned devices when absent. */
  readonly devices?: readonly string[];
  /** Variants it applies to, by id or `model/variant`; all when absent. */
  readonly variants?: readonly string[];
  readonly limits?: Readonly<Partial<Record<MetricName, MetricLimit>>>;
  readonly regression?: RegressionRequirement;
  readonly allowFingerprintMismatch?: boolean;
  /** Where the gate is written, for annotations. */
  readonly location?: SourceLocation;
  /** Where each limit is written, when known (more precise than `location`). */
  readonly limitLocations?: Readonly<Partial<Record<MetricName, SourceLocation>>>;
  /** Where the regression requirement is written, when known. */
  readonly regressionLocation?: SourceLocation;
}

/** A planned pair whose benchmark ran but failed (crash, timeout, error), or whose report was refused. */
export interface ReportedFailure {
  readonly device: string;
  readonly variant: string;
  readonly message: string;
  /** The device's report was refused (its figures disagree with its own data); `message` says why. */
  readonly refused?: boolean;
}

/** The devices and variants (`model/variant`) the manifest defines, whether or not this run plans them. */
export interface KnownPairs {
  readonly devices: readonly string[];
  readonly variants: readonly string[];
}

/**
 * Why a result was not gated: its pair is not in this run's plan, its device
 * is not in the manifest, or its variant is not.
 */
export type UnplannedReason = "not-planned" | "unknown-device" | "unknown-variant";

export interface UnplannedPair extends PlannedPair {
  readonly reason: UnplannedReason;
}

export interface PlannedPair {
  readonly device: string;
  readonly variant: string;
}

/** The baseline results, or plainly why there are none. */
export type BaselineInput =
  | {
      readonly status: "found";
      readonly source: string;
      readonly results: readonly DeviceResult[];
      /** Baseline reports refused by the cross-check, so a regression check says why it has nothing to compare with. */
      readonly refused?: readonly ReportedFailure[];
    }
  | {
      readonly status: "missing";
      readonly reason: string;
      /**
       * The base branch has no run with device reports yet (a new repository or
       * workflow): regression checks are skipped, not inconclusive, unless their
       * gate requires a baseline.
       */
      readonly noneYet?: boolean;
    };

/** What the verdict says when the base branch has no baseline yet. */
export const NO_BASELINE_YET = "no baseline yet: the default branch has no run with device reports; regression checks are skipped until one exists";

export interface GateInput {
  /** Every (device, variant) pair that was meant to run. */
  readonly plan: readonly PlannedPair[];
  readonly results: readonly DeviceResult[];
  readonly baseline: BaselineInput;
  readonly gates: readonly GateDefinition[];
  /** Pairs whose benchmark failed on the device; each fails the verdict with its message. */
  readonly failures?: readonly ReportedFailure[];
  /** Bootstrap resamples (default 2000). */
  readonly resamples?: number;
  /** What the manifest defines, so a result for a device or variant it lacks is named as such. */
  readonly known?: KnownPairs;
}

export type CheckKind = "reported" | "limit" | "regression";

export interface CheckResult {
  readonly gate: string;
  readonly device: string;
  readonly variant: string;
  readonly kind: CheckKind;
  readonly metric?: string;
  readonly outcome: CheckOutcome;
  readonly message: string;
  readonly advice?: string;
  readonly location?: SourceLocation;
  readonly limit?: LimitResult;
  readonly regression?: RegressionResult;
}

export interface PairVerdict {
  readonly device: string;
  readonly variant: string;
  readonly reported: boolean;
  /**
   * The identity digest of the variant the device measured: what the verdict
   * is about. A release signs a variant only when its own digest is this one.
   */
  readonly modelSha256?: string;
  readonly outcome: CheckOutcome;
  readonly metrics: MetricsRecord;
  readonly baselineMetrics?: MetricsRecord;
  readonly checks: readonly CheckResult[];
}

/** Whether one gate of the manifest applied to one device, and if not, why. */
export interface GateApplicability {
  readonly gate: string;
  /** `gates[0]` …, when known. */
  readonly ref?: string;
  /** What the gate requires: its limits' metrics, then `regression of <metric>`. */
  readonly requirements: readonly string[];
  readonly applied: boolean;
  /** The device's variants it was checked on (empty when it did not apply). */
  readonly variants: readonly string[];
  /** Why it did not apply to the device; only when it did not. */
  readonly reason?: string;
  /** Requirements of a gate that applied that were not checked: a regression while the base branch has no baseline yet. */
  readonly skipped?: readonly string[];
  readonly location?: SourceLocation;
}

/** One device of the plan: which gates applied to it and which did not, and what its checks gave. */
export interface DeviceGates {
  readonly device: string;
  readonly gates: readonly GateApplicability[];
  /** Requirements (limits and regressions) of the gates that applied, skipped ones not counted, of those the manifest has. */
  readonly requirements: { readonly applied: number; readonly total: number };
  /** The outcomes of the device's checks, a missing report included. */
  readonly counts: Readonly<Record<CheckOutcome, number>>;
}

export interface Verdict {
  readonly outcome: CheckOutcome;
  /** Per planned device, in plan order: which gates applied, which did not and why. */
  readonly devices: readonly DeviceGates[];
  readonly pairs: readonly PairVerdict[];
  readonly checks: readonly CheckResult[];
  readonly baseline: { readonly status: "found"; readonly source: string } | { readonly status: "missing"; readonly reason: string; readonly noneYet?: true };
  readonly counts: Readonly<Record<CheckOutcome, number>>;
  /** Results for pairs that were not in the plan, and why; shown, not gated. */
  readonly unplanned: readonly UnplannedPair[];
}

const key = (device: string, variant: string): string => `${device}\u0000${variant}`;

/** The worst of several outcomes: fail, then inconclusive, then pass. */
export function worstOutcome(outcomes: Iterable<CheckOutcome>): CheckOutcome {
  let worst: CheckOutcome = "pass";
  for (const o of outcomes) {
    if (o === "fail") return "fail";
    if (o === "inconclusive") worst = "inconclusive";
  }
  return worst;
}

/** Whether `selector` (a variant id, or `model/variant`) names `variant` (`model/variant`). */
export function variantMatches(selector: string, variant: string): boolean {
  if (selector === variant) return true;
  const slash = variant.indexOf("/");
  return !selector.includes("/") && slash >= 0 && variant.slice(slash + 1) === selector;
}

/** A gate's requirements, named as the manifest writes them. */
function requirementsOf(gate: GateDefinition): string[] {
  return [...Object.keys(gate.limits ?? {}), ...(gate.regression ? [`regression of ${gate.regression.metric}`] : [])];
}

const bracketed = (ids: readonly string[]): string => `[${ids.join(", ")}]`;

/** Whether `gate` applied to `device`'s planned pairs (those in `pairs`), and if not, why. */
function applicability(gate: GateDefinition, device: string, pairs: readonly PairVerdict[]): GateApplicability {
  const base = { gate: gate.name, ...(gate.ref ? { ref: gate.ref } : {}), requirements: requirementsOf(gate), ...(gate.location ? { location: gate.location } : {}) };
  const notApplied = (reason: string): GateApplicability => ({ ...base, applied: false, variants: [], reason });
  if (gate.devices && !gate.devices.includes(device)) return notApplied(`it names devices ${bracketed(gate.devices)}`);
  const matching = pairs.filter((p) => applies(gate, p));
  if (matching.length === 0) {
    return notApplied(`it names variants ${bracketed(gate.variants ?? [])}, and none of them was planned on ${device} (${pairs.map((p) => p.variant).join(", ") || "nothing"} ${pairs.length > 1 ? "were" : "was"})`);
  }
  const reported = matching.filter((p) => p.reported);
  if (reported.length === 0) return notApplied(`${device} did not report ${matching.map((p) => p.variant).join(", ")}`);
  if (base.requirements.length === 0) return notApplied("it requires nothing");
  // A regression check is skipped, not run, while the base branch has no baseline yet.
  const regressionRan = reported.some((p) => p.checks.some((c) => c.kind === "regression" && c.gate === gate.name));
  const skipped = gate.regression && !regressionRan ? [`regression of ${gate.regression.metric}`] : [];
  return { ...base, applied: true, variants: reported.map((p) => p.variant), ...(skipped.length > 0 ? { skipped } : {}) };
}

function countOutcomes(checks: readonly CheckResult[]): Record<CheckOutcome, number> {
  const counts: Record<CheckOutcome, number> = { pass: 0, fail: 0, inconclusive: 0 };
  for (const c of checks) counts[c.outcome]++;
  return counts;
}

/** Per device of the plan, which gates applied to it. */
function deviceGates(gates: readonly GateDefinition[], pairs: readonly PairVerdict[]): DeviceGates[] {
  const devices = [...new Set(pairs.map((p) => p.device))];
  const total = gates.reduce((n, g) => n + requirementsOf(g).length, 0);
  return devices.map((device) => {
    const own = pairs.filter((p) => p.device === device);
    const applied = gates.map((g) => applicability(g, device, own));
    return {
      device,
      gates: applied,
      requirements: { applied: applied.reduce((n, a) => n + (a.applied ? a.requirements.length - (a.skipped?.length ?? 0) : 0), 0), total },
      counts: countOutcomes(own.flatMap((p) => p.checks)),
    };
  });
}

function applies(gate: GateDefinition, pair: PlannedPair): boolean {
  if (gate.devices && !gate.devices.includes(pair.device)) return false;
  if (gate.variants && !gate.variants.some((s) => variantMatches(s, pair.variant))) return false;
  return true;
}

function indexResults(results: readonly DeviceResult[], what: string): Map<string, DeviceResult> {
  const map = new Map<string, DeviceResult>();
  for (const result of results) {
    const k = key(result.device, result.variant);
    if (map.has(k)) {
      throw new ConfigurationError(`${what} has two results for device "${result.device}", variant "${result.variant}"; each pair must be reported once`);
    }
    map.set(k, result);
  }
  return map;
}

function regressionCheck(
  gate: GateDefinition,
  requirement: RegressionRequirement,
  pair: PlannedPair,
  candidate: DeviceResult,
  baselineInput: BaselineInput,
  baselines: Map<string, DeviceResult>,
  resamples: number | undefined,
): CheckResult | undefined {
  const where = gate.regressionLocation ?? gate.location;
  const base = { gate: gate.name, device: pair.device, variant: pair.variant, kind: "regression" as const, metric: requirement.metric, ...(where ? { location: where } : {}) };
  if (baselineInput.status === "missing") {
    if (baselineInput.noneYet && !requirement.requireBaseline) return undefined;
    if (baselineInput.noneYet) {
      return { ...base, outcome: "inconclusive", message: `no baseline to compare ${requirement.metric} with: ${baselineInput.reason}`, advice: "The gate sets `require-baseline: true`: run the workflow on the base branch once so its device reports become the baseline." };
    }
    return { ...base, outcome: "inconclusive", message: `no baseline to compare ${requirement.metric} with: ${baselineInput.reason}`, advice: "The regression check needs a baseline from the base branch; it was not treated as a pass." };
  }
  const baseline = baselines.get(key(pair.device, pair.variant));
  const refused = baselineInput.refused?.find((f) => f.device === pair.device && f.variant === pair.variant);
  if (!baseline && refused) {
    return {
      ...base,
      outcome: "inconclusive",
      message: `the baseline's report of device "${pair.device}" was refused, so ${requirement.metric} cannot be compared: ${refused.message}`,
      advice: "Rerun the base branch's benchmark so the baseline has a report as the benchmark wrote it.",
    };
  }
  if (!baseline) {
    return { ...base, outcome: "inconclusive", message: `the baseline (${baselineInput.source}) has no result for device "${pair.device}", variant "${pair.variant}", so ${requirement.metric} cannot be compared`, advice: "A new device or variant has no baseline until the base branch has run it." };
  }
  const differences = compareFingerprints(baseline.fingerprint, candidate.fingerprint);
  if (differences.length > 0 && !gate.allowFingerprintMismatch) {
    return {
      ...base,
      outcome: "fail",
      message: `refused to compare ${requirement.metric} with the baseline: device "${pair.device}" has a different fingerprint (${describeFingerprintDifferences(differences)})`,
      advice: "Rerun the baseline on the same device, or set `allow-fingerprint-mismatch: true` on the gate to compare anyway.",
    };
  }
  const definition = METRICS[requirement.metric];
  const options = {
    metric: requirement.metric,
    direction: definition.direction,
    allowed: requirement.maxChange,
    confidence: requirement.confidence ?? 0.95,
    quantile: definition.series?.quantile ?? 0.5,
    seed: `slmops-gate:${pair.device}:${pair.variant}:${requirement.metric}`,
    ...(resamples !== undefined ? { resamples } : {}),
  };
  let regression: RegressionResult;
  try {
    const series = definition.series?.name;
    const before = series ? baseline.samples?.[series] : undefined;
    const after = series ? candidate.samples?.[series] : undefined;
    if (before && after) {
      regression = compareSamples(before, after, options);
    } else {
      const b = baseline.metrics[requirement.metric];
      const c = candidate.metrics[requirement.metric];
      if (typeof c !== "number") return { ...base, outcome: "fail", message: `${requirement.metric} was not reported by device "${pair.device}", so it cannot be compared with the baseline` };
      if (typeof b !== "number") return { ...base, outcome: "inconclusive", message: `the baseline has no ${requirement.metric} for device "${pair.device}"`, advice: "Rerun the base branch's benchmark so the baseline has this metric." };
      regression = compareValues(b, c, options);
    }
  } catch (error) {
    if (error instanceof RangeError) return { ...base, outcome: "fail", message: `device "${pair.device}", variant "${pair.variant}": ${error.message}` };
    throw error;
  }
  return {
    ...base,
    outcome: regression.outcome,
    message: regression.message,
    ...(regression.advice ? { advice: regression.advice } : {}),
    regression,
  };
}

function unplannedReason(pair: PlannedPair, known: KnownPairs | undefined): UnplannedReason {
  if (known && !known.devices.includes(pair.device)) return "unknown-device";
  if (known && !known.variants.includes(pair.variant)) return "unknown-variant";
  return "not-planned";
}

/** Evaluates every gate on every planned pair and returns the verdict. */
export function evaluateGates(input: GateInput): Verdict {
  const results = indexResults(input.results, "the run");
  const baselines = input.baseline.status === "found" ? indexResults(input.baseline.results, "the baseline") : new Map<string, DeviceResult>();
  const failed = new Map<string, ReportedFailure>();
  for (const f of input.failures ?? []) failed.set(key(f.device, f.variant), f);
  const planned = new Set<string>();
  const pairs: PairVerdict[] = [];
  for (const pair of input.plan) {
    const k = key(pair.device, pair.variant);
    if (planned.has(k)) continue;
    planned.add(k);
    const result = results.get(k);
    const checks: CheckResult[] = [];
    const failure = failed.get(k);
    if (!result) {
      checks.push({
        gate: "reported",
        device: pair.device,
        variant: pair.variant,
        kind: "reported",
        outcome: "fail",
        ...(failure?.refused
          ? {
              message: `the report of device "${pair.device}" for variant "${pair.variant}" was refused: ${failure.message}`,
              advice: "Gate the report exactly as the benchmark wrote it; if it was damaged, rerun the benchmark on the device.",
            }
          : failure
          ? {
              message: `device "${pair.device}" could not benchmark variant "${pair.variant}": ${failure.message}`,
              advice: "Fix the failure shown in the device's report (or its job log) and rerun.",
            }
          : {
              message: `device "${pair.device}" did not report variant "${pair.variant}"`,
              advice: "Check the device's job in the workflow run: it failed, was cancelled, or its report was not uploaded.",
            }),
      });
    } else {
      for (const gate of input.gates) {
        if (!applies(gate, pair)) continue;
        for (const [metric, limit] of Object.entries(gate.limits ?? {}) as [MetricName, MetricLimit][]) {
          const limitResult = evaluateLimit(metric, result.metrics[metric], limit, formatMetricValue);
          checks.push({
            gate: gate.name,
            device: pair.device,
            variant: pair.variant,
            kind: "limit",
            metric,
            outcome: limitResult.outcome,
            message: limitResult.message,
            limit: limitResult,
            ...((gate.limitLocations?.[metric] ?? gate.location) ? { location: gate.limitLocations?.[metric] ?? gate.location } : {}),
          });
        }
        const regression = gate.regression ? regressionCheck(gate, gate.regression, pair, result, input.baseline, baselines, input.resamples) : undefined;
        if (regression) checks.push(regression);
      }
    }
    const baseline = baselines.get(k);
    pairs.push({
      device: pair.device,
      variant: pair.variant,
      reported: result !== undefined,
      ...(result?.modelSha256 ? { modelSha256: result.modelSha256 } : {}),
      outcome: worstOutcome(checks.map((c) => c.outcome)),
      metrics: result?.metrics ?? {},
      ...(baseline ? { baselineMetrics: baseline.metrics } : {}),
      checks,
    });
  }
  const checks = pairs.flatMap((p) => p.checks);
  const counts = countOutcomes(checks);
  const unplanned = [...input.results, ...(input.failures ?? [])]
    .filter((r) => !planned.has(key(r.device, r.variant)))
    .map((r) => ({ device: r.device, variant: r.variant, reason: unplannedReason(r, input.known) }));
  return {
    outcome: worstOutcome(pairs.map((p) => p.outcome)),
    devices: deviceGates(input.gates, pairs),
    pairs,
    checks,
    baseline:
      input.baseline.status === "found"
        ? { status: "found", source: input.baseline.source }
        : { status: "missing", reason: input.baseline.reason, ...(input.baseline.noneYet ? { noneYet: true as const } : {}) },
    counts,
    unplanned,
  };
}
