/**
 * Command-line flags of `slmops make-model`, turned into {@link ModelOptions}:
 * the flag names, what each means, and parsing of their text values with
 * errors that name the flag.
 */
import { ConfigurationError } from "@slmops/diagnostics";
import { FIT_MODES, PRESET_NAMES, type ModelConfig, type ModelOptions, type PresetName } from "./config.js";

/** One flag of `slmops make-model`. */
export interface ModelFlag {
  /** Name without the leading dashes, e.g. `kv-heads`. */
  readonly name: string;
  /** The option it sets. */
  readonly option: keyof ModelConfig | "preset";
  readonly kind: "integer" | "number" | "boolean" | "preset" | "fit";
  readonly description: string;
}

export const MODEL_FLAGS: readonly ModelFlag[] = [
  { name: "preset", option: "preset", kind: "preset", description: `starting point: ${PRESET_NAMES.join(", ")} (default tiny)` },
  { name: "layers", option: "layers", kind: "integer", description: "decoder blocks" },
  { name: "hidden", option: "hidden", kind: "integer", description: "residual width (a multiple of --heads)" },
  { name: "heads", option: "heads", kind: "integer", description: "query attention heads" },
  { name: "kv-heads", option: "kvHeads", kind: "integer", description: "key/value heads, dividing --heads (fewer = grouped-query)" },
  { name: "intermediate", option: "intermediate", kind: "integer", description: "SwiGLU MLP width" },
  { name: "vocab", option: "vocab", kind: "integer", description: "vocabulary size (at least 258)" },
  { name: "context", option: "context", kind: "integer", description: "longest sequence (max position embeddings)" },
  { name: "tied", option: "tied", kind: "boolean", description: "tie the LM head to the token embedding" },
  { name: "seed", option: "seed", kind: "integer", description: "seed of the weights, tokenizer corpus and eval set" },
  { name: "rope-theta", option: "ropeTheta", kind: "number", description: "rotary embedding base (default 10000)" },
  { name: "rms-norm-eps", option: "rmsNormEps", kind: "number", description: "RMSNorm epsilon (default 1e-5)" },
  { name: "init-std", option: "initStd", kind: "number", description: "standard deviation of the weight init (default 0.02)" },
  { name: "eval-samples", option: "evalSamples", kind: "integer", description: "stories in eval.jsonl (default 64)" },
  { name: "fit", option: "fit", kind: "fit", description: "none (random embedding and head) or bigram (predict the story corpus; needs --tied=false)" },
];

function parseValue(flag: ModelFlag, value: string | boolean): unknown {
  const shown = `--${flag.name}`;
  if (flag.kind === "boolean") {
    if (typeof value === "boolean") return value;
    if (/^(true|yes|1)$/i.test(value)) return true;
    if (/^(false|no|0)$/i.test(value)) return false;
    throw new ConfigurationError(`${shown} takes true or false, got \`${value}\``);
  }
  if (typeof value === "boolean") throw new ConfigurationError(`${shown} needs a value, e.g. ${shown}=${flag.kind === "preset" ? "small" : "4"}`);
  if (flag.kind === "fit") {
    if (!(FIT_MODES as readonly string[]).includes(value)) {
      throw new ConfigurationError(`--fit must be one of ${FIT_MODES.join(", ")}, got \`${value}\``);
    }
    return value;
  }
  if (flag.kind === "preset") {
    if (!(PRESET_NAMES as readonly string[]).includes(value)) {
      throw new ConfigurationError(`unknown model preset \`${value}\`; use one of ${PRESET_NAMES.map((p) => `\`${p}\``).join(", ")}`);
    }
    return value as PresetName;
  }
  const number = value.trim() === "" ? Number.NaN : Number(value);
  if (!Number.isFinite(number)) throw new ConfigurationError(`${shown} must be a number, got \`${value}\``);
  if (flag.kind === "integer" && !Number.isInteger(number)) throw new ConfigurationError(`${shown} must be a whole number, got \`${value}\``);
  return number;
}

/**
 * Reads the make-model flags out of parsed command-line values (keys are flag
 * names without dashes, as `util.parseArgs` gives them); other keys are left
 * alone. Range and consistency checks happen in `resolveConfig`.
 */
export function modelOptionsFromFlags(values: Readonly<Record<string, string | boolean | undefined>>): ModelOptions {
  const options: Record<string, unknown> = {};
  for (const flag of MODEL_FLAGS) {
    const value = Object.hasOwn(values, flag.name) ? values[flag.name] : undefined;
    if (value !== undefined) options[flag.option] = parseValue(flag, value);
  }
  return options as ModelOptions;
}
