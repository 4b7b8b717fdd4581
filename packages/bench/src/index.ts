/**
 * @slmops/bench — benchmark ONNX model variants the same way every time.
 *
 * `runBenchmark` runs each variant in its own child process under MLPerf-style
 * run rules (warm-up, then at least `minIterations` and at least
 * `minDurationMs`), measures decoders token by token with the KV cache,
 * compares accuracy with the fp32 source, fingerprints the device, and returns
 * a report valid against `schemas/bench-report.schema.json`. Crashes and hangs
 * become failure entries, not dead jobs.
 */
export { runBenchmark, checkExecutionProviders } from "./harness.js";
export type { BenchDevice, BenchModel, BenchOptions, BenchPhase, BenchProgress, BenchSettings, BenchVariant } from "./harness.js";
export type { EvalSource } from "./eval-set.js";
export { CALIBRATION_LIMITS, loadCalibration, loadEval, parseEvalLines } from "./eval-set.js";
export { measureModel, measureGeneric, measureDecoder, computeReference, peakRssBytes } from "./measure.js";
export type { Measurement, MeasureJob, MeasurePhase, MeasureProgress, ModelKind, ReferenceJob, SessionSettings } from "./measure.js";
export { runUnderRules, validateRunRules } from "./run-rules.js";
export type { RunOutcome, RunRules } from "./run-rules.js";
export { percentile, summarize, mean, standardDeviation, standardError, slope } from "./statistics.js";
export type { Summary } from "./statistics.js";
export { AccuracyAccumulator, klDivergence, logSoftmax, argmax } from "./accuracy.js";
export type { AccuracyMetrics } from "./accuracy.js";
export { collectFingerprint, cpuFeatures, parseCpuInfo, runnerLabels } from "./fingerprint.js";
export { modelFiles, externalDataLocations } from "./model-files.js";
export type { ModelFile, ModelFiles } from "./model-files.js";
export { readReference, writeReference, referenceFileName, InvalidReferenceError } from "./reference-file.js";
export type { Reference, ReferenceHeader, ReferenceKey } from "./reference-file.js";
export { BENCH_REPORT_SCHEMA_VERSION, InvalidReportError, benchReportSchema, readReport, validateReport, writeReport } from "./report.js";
export type * from "./report.js";
export { formatReportTable } from "./format-table.js";
export { failedResult, variantResult } from "./results.js";
export type { ResultContext } from "./results.js";
export {
  SOURCE_VARIANT_ID,
  THROUGHPUT_DEFINITION,
  TOKENS_PER_SECOND_DEFINITION,
  isSourceResult,
  latencySpread,
  ratiosToSource,
  sourceResultOf,
  speedMetric,
} from "./versus-source.js";
export type { SourceAspect, SourceRatio, Spread } from "./versus-source.js";
export { detectDecoder, genericFeeds } from "./model-io.js";
export type { DecoderLayout } from "./model-io.js";
