/**
 * @slmops/optimize — optimization passes over ONNX models: int4 block-wise
 * (`MatMulNBits`) and int8 per-channel quantization, fp16 conversion,
 * magnitude pruning and ONNX Runtime graph optimization, chained by
 * `optimizeModel` with a record of every pass.
 */
export {
  optimizeModel,
  type CompressedSizes,
  type OptimizeOptions,
  type OptimizeProgress,
  type PassRecord,
  type VariantRecord,
} from "./pipeline.js";
export {
  describePass,
  normalizePass,
  type ConvertPassOptions,
  type GraphOptimizePassOptions,
  type NormalizedPass,
  type PassName,
  type PassSpec,
  type PrunePassOptions,
  type QuantizePassOptions,
} from "./pass-options.js";
export { GPTQ_DAMPENINGS, quantizeModel, quantizeModelCalibrated, type QuantizePass, type QuantizeStats, type TensorProgress } from "./quantize-pass.js";
export { DEFAULT_HESSIAN_BUDGET_BYTES, hessianGroups, withHessians, type ActivationSpec, type Calibration, type KeptRows } from "./calibration.js";
export { DEFAULT_DAMPENING, HessianError, columnOutputErrors, gptqFactor, quantizeGptq, upperCholeskyOfInverse, type GptqOptions } from "./gptq.js";
export { convertToFloat16, type ConvertPass, type ConvertStats } from "./convert-pass.js";
export { pruneModel, type PrunePass, type PruneStats } from "./prune-pass.js";
export { optimizeGraph, type GraphOptimizePass, type GraphOptimizeStats } from "./graph-optimize-pass.js";
export { describeModelFiles, sha256File, type ModelFile, type ModelFiles } from "./model-io.js";
export {
  dequantizeNBits,
  isValidBlockSize,
  quantizeNBits,
  type NBitsOptions,
  type NBitsWeight,
} from "./matmul-nbits.js";
export { BlockQuantizer, type BlockParams, type BlockQuantOptions, type ErrorWeighting, type QuantMethod } from "./block-quant.js";
export { dequantizeInt8, quantizeInt8PerChannel, type Int8Weight } from "./int8.js";
export { compareLogits, pairedKlDifference, rmse, type LogitComparison } from "./metrics.js";
export { float16ToFloat32, float32ToFloat16, fromFloat16Bits, toFloat16Bits } from "./float16.js";
export {
  buildVariants,
  needsCalibration,
  passSpecOf,
  selectVariants,
  UnknownVariantFilterError,
  type BuildVariantsOptions,
  type BuiltVariant,
  type FailedVariant,
  type SelectedVariant,
  type VariantFilter,
  type VariantOutcome,
} from "./manifest-variants.js";
