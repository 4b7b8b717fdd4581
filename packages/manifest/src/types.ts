import type { Diagnostic, SourcePosition } from "@slmops/diagnostics";

/** Options shared by `loadManifest`, `parseManifest` and `loadManifestOrThrow`. */
export interface LoadManifestOptions {
  /** Repository root that every path must stay inside. Default: the manifest's directory. */
  root?: string;
  /** Check that referenced files exist (default true). */
  checkFiles?: boolean;
  /** Name shown in diagnostics (default: path relative to cwd). */
  displayPath?: string;
}

/** A manifest that loaded: the normalized value, any warnings, and a way back to source positions. */
export interface ManifestSuccess {
  readonly ok: true;
  readonly manifest: Manifest;
  /** Warnings only: a manifest with errors does not load. */
  readonly diagnostics: readonly Diagnostic[];
  /** Absolute path of the manifest file. */
  readonly file: string;
  /** Absolute repository root every path was resolved against. */
  readonly root: string;
  /**
   * Source position of a JSON pointer into the document as written, e.g.
   * `"/gates/0/require/peak-memory"`. For a mapping entry it is the position
   * of its value; undefined when the pointer does not exist.
   */
  locate(pointer: string): SourcePosition | undefined;
}

/** A manifest that did not load: every problem found, errors and warnings, sorted by position. */
export interface ManifestFailure {
  readonly ok: false;
  readonly diagnostics: readonly Diagnostic[];
  readonly file: string;
}

export type ManifestResult = ManifestSuccess | ManifestFailure;

/** A path in the manifest: as written, and resolved to an absolute path inside the root. */
export interface ManifestPath {
  /** The path as written in the manifest, relative to the root (`models/story-lm/model.onnx`). */
  readonly written: string;
  /** The absolute path, resolved against the root. */
  readonly resolved: string;
}

export type ModelKind = "decoder" | "encoder" | "generic";

export interface ModelEval {
  readonly dataset: ManifestPath;
  readonly tokenizer?: ManifestPath;
}

/** A model and the variants built from it. */
export interface Model {
  readonly id: string;
  readonly description?: string;
  /** The fp32 ONNX source model. */
  readonly source: ManifestPath;
  readonly kind: ModelKind;
  readonly eval?: ModelEval;
  /** Text `method: gptq` calibrates on (else the eval set). */
  readonly calibration?: ModelEval;
  readonly variants: readonly Variant[];
  /** JSON pointer of this model in the manifest, for `locate`. */
  readonly pointer: string;
}

/** An optimized variant: the source with its passes applied in order. */
export interface Variant {
  readonly id: string;
  /** Id of the model it belongs to. */
  readonly model: string;
  readonly description?: string;
  readonly passes: readonly Pass[];
  readonly pointer: string;
}

interface QuantizeCommon {
  readonly kind: "quantize";
  /** Written value, else false for int4 (zero points per block) and true for int8. */
  readonly symmetric: boolean;
  readonly excludeNodes: readonly string[];
}

/** Block-wise weight-only quantization (`MatMulNBits`, 4 or 8 bits): the default form of int4 and int8. */
export interface BlockQuantizePass extends QuantizeCommon {
  readonly weights: "int4" | "int8";
  readonly activations: "none";
  /** Weights sharing one scale; 32 unless written. */
  readonly blockSize: 16 | 32 | 64 | 128;
  /** `gptq` calibrates on the model's calibration text (else its eval set). */
  readonly method: "rtn" | "minimize-error" | "gptq";
  /** MatMulNBits accuracy level, when written. */
  readonly accuracyLevel?: "fp32" | "fp16" | "bf16" | "int8";
  /** Mixed precision: other settings for the MatMuls each override's `nodes` select (the first that selects one applies). */
  readonly overrides: readonly QuantizeOverride[];
}

/** An override of a block-wise quantize pass, as written: what it leaves out is the pass's. */
export interface QuantizeOverride {
  /** Node names or patterns (`*`, `**`, `{a,b}`). */
  readonly nodes: readonly string[];
  readonly weights?: "int4" | "int8";
  readonly blockSize?: 16 | 32 | 64 | 128;
  readonly symmetric?: boolean;
  readonly method?: "rtn" | "minimize-error" | "gptq";
  readonly accuracyLevel?: "fp32" | "fp16" | "bf16" | "int8";
}

/** Per-channel int8 weights with activations quantized at run time (`activations: dynamic`). */
export interface DynamicInt8QuantizePass extends QuantizeCommon {
  readonly weights: "int8";
  readonly activations: "dynamic";
}

export type QuantizePass = BlockQuantizePass | DynamicInt8QuantizePass;

export interface ConvertPass {
  readonly kind: "convert";
  readonly to: "fp16";
  readonly keepIoTypes: boolean;
  readonly keepOps: readonly string[];
}

export interface PrunePass {
  readonly kind: "prune";
  /** Share of weights set to zero, a fraction in [0, 1). */
  readonly sparsity: number;
  readonly scope: "per-layer" | "global";
}

export interface GraphOptimizePass {
  readonly kind: "graph-optimize";
  readonly level: "basic" | "extended" | "layout" | "all";
  readonly allowMachineSpecific: boolean;
}

export type Pass = QuantizePass | ConvertPass | PrunePass | GraphOptimizePass;

export type ExecutionProvider = "cpu" | "xnnpack" | "cuda" | "tensorrt" | "coreml" | "nnapi" | "qnn" | "openvino" | "dml" | "webgpu";

export type GraphOptimizationLevel = "disabled" | "basic" | "extended" | "layout" | "all";

/** A class of device in the matrix. */
export interface Device {
  readonly id: string;
  readonly description?: string;
  readonly runsOn: readonly string[];
  readonly executionProviders: readonly ExecutionProvider[];
  /** Intra-op threads; undefined lets ONNX Runtime choose. */
  readonly threads?: number;
  /** Bytes, when a budget is written. */
  readonly memoryBudgetBytes?: number;
  readonly graphOptimizationLevel: GraphOptimizationLevel;
  /** Absolute path on the device's runner; not checked at load time. */
  readonly privateEvalDataset?: string;
  readonly allowFromForks: boolean;
  readonly pointer: string;
}

/** Benchmark settings, defaults applied. */
export interface BenchSettings {
  readonly warmup: number;
  readonly minIterations: number;
  readonly minDurationMs: number;
  readonly promptTokens: number;
  readonly generateTokens: number;
  readonly timeoutMs: number;
  readonly seed: number;
}

export type MetricName =
  | "latency-p50"
  | "latency-p90"
  | "latency-p99"
  | "decode-latency-p50"
  | "decode-latency-p90"
  | "decode-latency-p99"
  | "ttft"
  | "tokens-per-second"
  | "peak-memory"
  | "load-time"
  | "model-size"
  | "kl-divergence"
  | "top-1-agreement"
  | "perplexity";

/** The unit a metric's numbers are in, after normalization. */
export type MetricUnit = "ms" | "bytes" | "tokens/s" | "nats" | "fraction" | "perplexity";

/** An absolute limit on one metric: numbers in the metric's unit (ms, bytes, fraction …). */
export interface MetricLimit {
  readonly metric: MetricName;
  readonly unit: MetricUnit;
  readonly max?: number;
  readonly min?: number;
  /** JSON pointer of the limit, e.g. `/gates/0/require/peak-memory`. */
  readonly pointer: string;
}

/** A regression check against the baseline. */
export interface RegressionCheck {
  readonly metric: MetricName;
  /** Whether a larger value is worse (`max-increase`) or a smaller one (`max-decrease`). */
  readonly worseWhen: "higher" | "lower";
  /** The largest acceptable relative change towards worse, as a fraction (5% → 0.05). */
  readonly maxWorsening: number;
  readonly confidence: number;
  /** `require-baseline`: inconclusive rather than skipped while the base branch has no baseline yet. */
  readonly requireBaseline: boolean;
  readonly pointer: string;
}

/** A variant named unambiguously. */
export interface VariantRef {
  readonly model: string;
  readonly variant: string;
}

export interface Gate {
  /** The written name, else one built from its devices and variants. */
  readonly name: string;
  /** Device ids the gate applies to (all devices when none were written). */
  readonly devices: readonly string[];
  /** Variants the gate applies to (every variant of the selected models when none were written). */
  readonly variants: readonly VariantRef[];
  readonly limits: readonly MetricLimit[];
  readonly regression?: RegressionCheck;
  readonly allowFingerprintMismatch: boolean;
  readonly pointer: string;
}

export interface ReleaseTarget {
  readonly device: string;
  readonly model: string;
  readonly variant: string;
  readonly pointer: string;
}

export interface RolloutStage {
  /** Share of devices, 0 < percent ≤ 100. */
  readonly percent: number;
  /** Soak time in milliseconds; 0 when none was written. */
  readonly soakMs: number;
}

/** The release repository's signing roles, each with its own metadata expiry. */
export type ExpiryRole = "root" | "targets" | "snapshot" | "timestamp" | "rollout";

export interface Release {
  readonly channel: string;
  readonly targets: readonly ReleaseTarget[];
  readonly rollout: {
    readonly stages: readonly RolloutStage[];
    readonly abort?: { readonly failureRate: number; readonly minDevices: number };
  };
  /** How long each role's signed metadata stays valid, in milliseconds; defaults applied (`DEFAULTS.expiryMs`). */
  readonly expiryMs: Readonly<Record<ExpiryRole, number>>;
}

/**
 * The normalized, typed, deeply frozen manifest: units as numbers (bytes,
 * milliseconds, fractions), defaults applied, references resolved, paths
 * resolved against the root (with the written form kept).
 */
export interface Manifest {
  readonly version: 1;
  readonly models: readonly Model[];
  readonly devices: readonly Device[];
  readonly bench: BenchSettings;
  readonly gates: readonly Gate[];
  /** Undefined when the manifest has no `release` section. */
  readonly release?: Release;
}
