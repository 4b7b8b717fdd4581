/**
 * slmops.yaml: parse with exact source positions, validate against the JSON
 * schema and the rules it cannot express, and return a typed, frozen,
 * normalized manifest — or every problem at once, each at its line and column.
 */
export { loadManifest, loadManifestOrThrow, parseManifest } from "./load.js";
export { manifestSchema } from "./schema.js";
export { LIMITS } from "./limits.js";
export { BENCH_COUNT_BOUNDS, type BenchCountSetting, type CountBounds } from "./bench-bounds.js";
export { METRICS } from "./metrics.js";
export { DEFAULTS, EXPIRY_ROLES } from "./normalize.js";
export type {
  BenchSettings,
  ConvertPass,
  Device,
  ExecutionProvider,
  ExpiryRole,
  Gate,
  GraphOptimizationLevel,
  GraphOptimizePass,
  BlockQuantizePass,
  DynamicInt8QuantizePass,
  LoadManifestOptions,
  Manifest,
  ManifestFailure,
  ManifestPath,
  ManifestResult,
  ManifestSuccess,
  MetricLimit,
  MetricName,
  MetricUnit,
  Model,
  ModelEval,
  ModelKind,
  Pass,
  PrunePass,
  QuantizePass,
  RegressionCheck,
  Release,
  ReleaseTarget,
  RolloutStage,
  Variant,
  VariantRef,
} from "./types.js";
