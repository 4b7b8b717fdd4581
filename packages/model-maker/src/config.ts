/**
 * The shape of a model the maker builds: its presets, the flags that override
 * them, their validation, and the exact parameter count.
 */
import { ConfigurationError } from "@slmops/diagnostics";

/** Everything that decides the bytes of a model project. */
export interface ModelConfig {
  /** Tokens in the vocabulary (tokenizer and model agree on it). */
  readonly vocab: number;
  /** Width of the residual stream. */
  readonly hidden: number;
  /** Decoder blocks. */
  readonly layers: number;
  /** Query heads; `hidden` must be a multiple of it. */
  readonly heads: number;
  /** Key/value heads (grouped-query attention when fewer than `heads`). */
  readonly kvHeads: number;
  /** Width of the SwiGLU MLP. */
  readonly intermediate: number;
  /** Longest sequence the model is meant for (max position embeddings). */
  readonly context: number;
  /** Whether the LM head reuses the token embedding. */
  readonly tied: boolean;
  /** Seed of every random draw (weights, corpus, eval set). */
  readonly seed: number;
  /** Base of the rotary position embedding frequencies. */
  readonly ropeTheta: number;
  /** Epsilon inside each RMSNorm. */
  readonly rmsNormEps: number;
  /** Standard deviation of the normal weight init (Hugging Face `initializer_range`). */
  readonly initStd: number;
  /** Stories in the eval set. */
  readonly evalSamples: number;
  /**
   * `none`: embedding and LM head random like every other weight. `bigram`:
   * set them so the model predicts its story corpus like a bigram model
   * (needs an untied head); see bigram-fit.ts.
   */
  readonly fit: FitMode;
}

export type FitMode = "none" | "bigram";
export const FIT_MODES: readonly FitMode[] = ["none", "bigram"];

export type PresetName = "nano" | "tiny" | "small" | "medium" | "large";

/** What a caller (or `slmops make-model`) may pass: a preset and overrides. */
export interface ModelOptions extends Partial<ModelConfig> {
  /** Starting point; default `tiny`. */
  readonly preset?: PresetName;
}

const COMMON = {
  seed: 1234,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
  initStd: 0.02,
  evalSamples: 64,
  fit: "none",
} as const;

/**
 * Presets from about 0.25M to about 100M parameters (exact counts in the
 * README and from {@link parameterCount}). `nano` keeps a model file under
 * 2 MB for examples checked into a repository.
 */
export const PRESETS: Readonly<Record<PresetName, ModelConfig>> = {
  nano: { ...COMMON, vocab: 1024, hidden: 64, layers: 4, heads: 4, kvHeads: 2, intermediate: 176, context: 256, tied: true },
  tiny: { ...COMMON, vocab: 2048, hidden: 128, layers: 4, heads: 4, kvHeads: 2, intermediate: 352, context: 512, tied: true },
  small: { ...COMMON, vocab: 8192, hidden: 256, layers: 10, heads: 4, kvHeads: 2, intermediate: 768, context: 1024, tied: true },
  medium: { ...COMMON, vocab: 16384, hidden: 512, layers: 8, heads: 8, kvHeads: 4, intermediate: 1376, context: 1024, tied: true },
  large: { ...COMMON, vocab: 32000, hidden: 768, layers: 12, heads: 12, kvHeads: 4, intermediate: 2048, context: 2048, tied: true },
};

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** Special tokens the tokenizer reserves before its 256 byte tokens. */
export const SPECIAL_TOKEN_COUNT = 2;
/** The smallest vocabulary that still holds the special tokens and every byte. */
export const MIN_VOCAB = SPECIAL_TOKEN_COUNT + 256;

interface Bound {
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

const BOUNDS: Readonly<Record<Exclude<keyof ModelConfig, "tied" | "fit">, Bound>> = {
  vocab: { min: MIN_VOCAB, max: 262144, integer: true },
  hidden: { min: 8, max: 16384, integer: true },
  layers: { min: 1, max: 256, integer: true },
  heads: { min: 1, max: 256, integer: true },
  kvHeads: { min: 1, max: 256, integer: true },
  intermediate: { min: 1, max: 65536, integer: true },
  context: { min: 8, max: 1048576, integer: true },
  seed: { min: 0, max: 4294967295, integer: true },
  ropeTheta: { min: 1, max: 1e9, integer: false },
  rmsNormEps: { min: 1e-12, max: 1, integer: false },
  initStd: { min: 0, max: 1, integer: false },
  evalSamples: { min: 1, max: 100000, integer: true },
};

/** Flag spellings, for messages that tell the user what to change. */
const FLAG: Readonly<Record<keyof ModelConfig, string>> = {
  vocab: "--vocab",
  hidden: "--hidden",
  layers: "--layers",
  heads: "--heads",
  kvHeads: "--kv-heads",
  intermediate: "--intermediate",
  context: "--context",
  tied: "--tied",
  seed: "--seed",
  ropeTheta: "--rope-theta",
  rmsNormEps: "--rms-norm-eps",
  initStd: "--init-std",
  evalSamples: "--eval-samples",
  fit: "--fit",
};

/** Dimension of one attention head. */
export function headDim(config: Pick<ModelConfig, "hidden" | "heads">): number {
  return config.hidden / config.heads;
}

/**
 * Resolves a preset plus overrides into a complete, validated configuration.
 * Throws {@link ConfigurationError} naming the flag to fix.
 */
export function resolveConfig(options: ModelOptions = {}): ModelConfig {
  const presetName = options.preset ?? "tiny";
  const preset = Object.hasOwn(PRESETS, presetName) ? PRESETS[presetName] : undefined;
  if (preset === undefined) {
    throw new ConfigurationError(
      `unknown model preset \`${String(presetName)}\`; use one of ${PRESET_NAMES.map((p) => `\`${p}\``).join(", ")}`,
    );
  }
  const merged: Record<string, unknown> = { ...preset };
  for (const key of Object.keys(preset) as (keyof ModelConfig)[]) {
    const value = options[key];
    if (value !== undefined) merged[key] = value;
  }
  return validateConfig(merged);
}

/** Checks a complete configuration (e.g. one read back from `config.json`). */
export function validateConfig(input: Readonly<Record<string, unknown>>): ModelConfig {
  for (const [key, bound] of Object.entries(BOUNDS) as [keyof typeof BOUNDS, Bound][]) {
    const value = input[key];
    const flag = FLAG[key];
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new ConfigurationError(`${flag} must be a number, got ${JSON.stringify(value) ?? "nothing"}`);
    }
    if (bound.integer && !Number.isInteger(value)) {
      throw new ConfigurationError(`${flag} must be a whole number, got ${value}`);
    }
    if (value < bound.min || value > bound.max) {
      throw new ConfigurationError(`${flag} must be between ${bound.min} and ${bound.max}, got ${value}`);
    }
  }
  if (typeof input.tied !== "boolean") {
    throw new ConfigurationError(`--tied must be true or false, got ${JSON.stringify(input.tied) ?? "nothing"}`);
  }
  if (typeof input.fit !== "string" || !(FIT_MODES as readonly string[]).includes(input.fit)) {
    throw new ConfigurationError(`--fit must be one of ${FIT_MODES.join(", ")}, got ${JSON.stringify(input.fit) ?? "nothing"}`);
  }
  if (input.fit === "bigram" && input.tied === true) {
    throw new ConfigurationError("--fit bigram needs an untied LM head; pass --tied=false as well");
  }
  const config = Object.fromEntries(
    (Object.keys(FLAG) as (keyof ModelConfig)[]).map((key) => [key, input[key]]),
  ) as unknown as ModelConfig;
  if (config.hidden % config.heads !== 0) {
    throw new ConfigurationError(
      `--hidden (${config.hidden}) must be a multiple of --heads (${config.heads}); pick a head count that divides it`,
    );
  }
  if (headDim(config) % 2 !== 0) {
    throw new ConfigurationError(
      `each attention head must have an even width for rotary embeddings, but --hidden ${config.hidden} / --heads ${config.heads} = ${headDim(config)}`,
    );
  }
  if (config.kvHeads > config.heads || config.heads % config.kvHeads !== 0) {
    throw new ConfigurationError(
      `--kv-heads (${config.kvHeads}) must divide --heads (${config.heads}); grouped-query attention shares each key/value head among a whole number of query heads`,
    );
  }
  return config;
}

/** Exact number of parameters, counting a tied LM head once (as Hugging Face does). */
export function parameterCount(config: ModelConfig): number {
  const d = headDim(config);
  const attention = config.hidden * config.heads * d * 2 + config.hidden * config.kvHeads * d * 2;
  const mlp = 3 * config.hidden * config.intermediate;
  const norms = 2 * config.hidden;
  const embedding = config.vocab * config.hidden;
  const head = config.tied ? 0 : config.vocab * config.hidden;
  return embedding + head + config.layers * (attention + mlp + norms) + config.hidden;
}
