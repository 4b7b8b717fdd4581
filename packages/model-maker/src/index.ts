/**
 * `@slmops/model-maker`: small Llama-style decoder models as ONNX, with a
 * matching byte-level BPE tokenizer and a synthetic eval set, made
 * deterministically from a seed so examples and tests have complete, real
 * model projects without downloading checkpoints.
 */
export {
  PRESETS,
  PRESET_NAMES,
  FIT_MODES,
  MIN_VOCAB,
  headDim,
  parameterCount,
  resolveConfig,
  validateConfig,
  type FitMode,
  type ModelConfig,
  type ModelOptions,
  type PresetName,
} from "./config.js";
export {
  DIM,
  GRAPH_LAYOUTS,
  IR_VERSION,
  LAYOUT_FILE_NAMES,
  MAKER_FORMAT,
  OPSET,
  decoderInputNames,
  decoderOutputNames,
  genaiConfig,
  makeModel,
  ropeInverseFrequencies,
  type GraphLayout,
  type MakeModelOptions,
  type Progress,
  type ProgressCallback,
} from "./model.js";
export { EMBED_TOKENS, FINAL_NORM, LM_HEAD, layerWeightName, makeWeights, weightCount, type Weight } from "./weights.js";
export {
  BOS_ID,
  BOS_TOKEN,
  EOS_ID,
  EOS_TOKEN,
  tokenizerConfigJson,
  tokenizerJson,
  trainByteLevelBpe,
  type TrainedTokenizer,
} from "./tokenizer.js";
export { evalJsonl, stories, story, trainingCorpus } from "./corpus.js";
export { Random, hashString } from "./random.js";
export { FIT_EMBEDDING_RMS, encodeText, fitBigram, type FittedWeights } from "./bigram-fit.js";
export { MODEL_FLAGS, modelOptionsFromFlags, type ModelFlag } from "./flags.js";
export {
  DEFAULT_LAYOUT,
  repositoryLayout,
  configJson,
  makeModelProject,
  parseConfigJson,
  remakeFromConfigFile,
  writeModelProject,
  type ModelProject,
  type ProjectLayout,
  type ProjectOptions,
  type WriteProjectOptions,
  type WrittenProject,
} from "./project.js";
