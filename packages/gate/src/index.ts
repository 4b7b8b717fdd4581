/**
 * Turns device benchmark results into one verdict: absolute limits on named
 * metrics, noise-aware regression checks against a baseline (a seeded
 * percentile bootstrap of the relative change, with pass / fail /
 * inconclusive outcomes), fingerprint checks, and a failure for every planned
 * device that did not report.
 */
export { bootstrapRelativeChange, DEFAULT_RESAMPLES, DEFAULT_SEED, resampleQuantile, type BootstrapOptions, type RelativeChangeInterval } from "./bootstrap.js";
export { compareFingerprints, DEFAULT_IGNORED_FINGERPRINT_KEYS, describeFingerprintDifferences, type Fingerprint, type FingerprintDifference, type FingerprintValue } from "./fingerprint.js";
export { formatChange, formatMetricValue } from "./format.js";
export { evaluateLimit, evaluateLimits, type LimitResult, type MetricLimit, type MetricsRecord, type ValueFormatter } from "./limits.js";
export { isMetricName, metricDefinition, METRIC_NAMES, METRICS, type Direction, type MetricDefinition, type MetricName, type MetricUnit, type SampleSeries } from "./metrics.js";
export { quantile, quantileOfSorted } from "./quantile.js";
export { createRandom, seedFromString, type Random } from "./random.js";
export { compareSamples, compareValues, MAX_SAMPLES, MIN_SAMPLES, sampleProblem, type CheckOutcome, type RegressionOptions, type RegressionResult } from "./regression.js";
export {
  evaluateGates,
  NO_BASELINE_YET,
  worstOutcome,
  type BaselineInput,
  type CheckKind,
  type CheckResult,
  type DeviceGates,
  type DeviceResult,
  type GateApplicability,
  type GateDefinition,
  type GateInput,
  type KnownPairs,
  type PairVerdict,
  type PlannedPair,
  type RegressionRequirement,
  type ReportedFailure,
  type SourceLocation,
  type UnplannedPair,
  type UnplannedReason,
  type Verdict,
} from "./verdict.js";
export { formatVerdictText, type TextStyle } from "./text.js";
export { applicabilityLines, checksText, gateLabel, requirementsText, type ApplicabilityLine } from "./applicability.js";
