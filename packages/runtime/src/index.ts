/**
 * The one place slmops talks to ONNX Runtime. Every other package reaches
 * onnxruntime-node through this module, so the native addon has a single
 * owner: one version, one set of session defaults, one error vocabulary.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { ConfigurationError, SlmopsError } from "@slmops/diagnostics";

export { detectDecoder, DecoderLayoutError, USE_CACHE_BRANCH, type CacheSlot, type DecoderLayout } from "./decoder-layout.js";
export { decoderFeeds, emptyCache, nextCache, type KvCache } from "./decoder-feeds.js";
export { warmUp, WARM_UP_MODEL } from "./warm-up.js";

export type ElementType =
  | "float32"
  | "float16"
  | "float64"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "bool"
  | "string";

export type TensorValues =
  | Float32Array
  | Float64Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | readonly string[];

/** A tensor as plain data: element type, shape and a flat row-major buffer. */
export interface TensorData {
  readonly type: ElementType;
  readonly dims: readonly number[];
  readonly data: TensorValues;
}

export type GraphOptimizationLevel = "disabled" | "basic" | "extended" | "layout" | "all";

export interface SessionOptions {
  /** Execution providers in order of preference; default `["cpu"]`. */
  readonly executionProviders?: readonly string[];
  /** Threads used inside one operator (0 = ONNX Runtime's default). */
  readonly intraOpThreads?: number;
  /** Threads used across operators (0 = ONNX Runtime's default). */
  readonly interOpThreads?: number;
  readonly graphOptimizationLevel?: GraphOptimizationLevel;
  /** Where ONNX Runtime writes the model after its graph optimizations. */
  readonly optimizedModelPath?: string;
  /** Run operators one after another (deterministic timings); default true, `false` runs independent operators in parallel. */
  readonly sequential?: boolean;
  /** ONNX Runtime log level: 0 verbose … 4 fatal; default 3 (errors). */
  readonly logSeverity?: 0 | 1 | 2 | 3 | 4;
  /**
   * Repack constant weights into the CPU kernels' layout when the session is
   * created; default true. Prepacking makes every later run faster and costs
   * most of a session's creation time on a large fp32 model (about two
   * thirds of it for a 100 MB decoder); `false` suits a session that runs
   * once or twice, such as a health check.
   */
  readonly prepackWeights?: boolean;
}

export interface ValueInfo {
  readonly name: string;
  /** Element type, or undefined for non-tensor values. */
  readonly type: ElementType | undefined;
  /** Shape with symbolic dimensions as strings; undefined when unknown. */
  readonly shape: readonly (number | string)[] | undefined;
}

export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /** Runs the model. Returns only the requested outputs (default: all). */
  run(feeds: Readonly<Record<string, TensorData>>, outputNames?: readonly string[]): Promise<Record<string, TensorData>>;
  release(): Promise<void>;
}

/** ONNX Runtime failed to run a model it had loaded. Keeps the runtime's error as `cause`. */
export class RuntimeError extends SlmopsError {}

/**
 * ONNX Runtime refused to load a model: the model (or its file) is at fault,
 * not slmops, so it is shown as a message saying what to do. Keeps the
 * runtime's error as `cause`.
 */
export class ModelLoadError extends ConfigurationError {
  constructor(
    message: string,
    /** ONNX Runtime's reason, without the file it was loading (a caller may have loaded a scratch copy). */
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/**
 * The execution providers the installed ONNX Runtime binding offers here: the
 * ones built into the binding, and the others (CUDA, TensorRT) only when their
 * provider library was installed next to it.
 */
export function availableExecutionProviders(): string[] {
  return ort.listSupportedBackends()
    .filter((b) => b.bundled || providerLibraryInstalled(b.name))
    .map((b) => b.name);
}

/** Whether the shared library of a separately installed provider sits beside the binding. */
function providerLibraryInstalled(name: string): boolean {
  let root: string;
  try {
    root = dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
  } catch {
    return false;
  }
  const file =
    process.platform === "win32"
      ? `onnxruntime_providers_${name}.dll`
      : `libonnxruntime_providers_${name}${process.platform === "darwin" ? ".dylib" : ".so"}`;
  return existsSync(join(root, "bin", "napi-v6", process.platform, process.arch, file));
}

export interface RuntimeInfo {
  readonly onnxruntimeVersion: string;
  readonly executionProviders: readonly string[];
}

export function runtimeInfo(): RuntimeInfo {
  return {
    onnxruntimeVersion: ort.env.versions.node ?? ort.env.versions.common,
    executionProviders: availableExecutionProviders(),
  };
}

export function tensor(type: ElementType, data: TensorValues, dims: readonly number[]): TensorData {
  return { type, data, dims };
}

/** Opens a model (a path or its bytes) in an ONNX Runtime session. */
export async function createSession(model: string | Uint8Array, options: SessionOptions = {}): Promise<Session> {
  const providers = options.executionProviders ?? ["cpu"];
  const available = availableExecutionProviders();
  const missing = providers.filter((p) => !available.includes(p.toLowerCase()));
  if (missing.length > 0) {
    throw new ConfigurationError(
      `execution provider ${missing.map((m) => `\`${m}\``).join(", ")} is not available on this machine ` +
        `(available: ${available.join(", ")}); install an ONNX Runtime build with it or remove it from the device's execution-providers`,
    );
  }
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: providers.map((p) => p.toLowerCase()),
    graphOptimizationLevel: options.graphOptimizationLevel ?? "all",
    executionMode: options.sequential === false ? "parallel" : "sequential",
    logSeverityLevel: options.logSeverity ?? 3,
  };
  if (options.intraOpThreads !== undefined) sessionOptions.intraOpNumThreads = options.intraOpThreads;
  if (options.interOpThreads !== undefined) sessionOptions.interOpNumThreads = options.interOpThreads;
  if (options.optimizedModelPath !== undefined) sessionOptions.optimizedModelFilePath = options.optimizedModelPath;
  if (options.prepackWeights === false) sessionOptions.extra = { session: { disable_prepacking: "1" } };

  let session: ort.InferenceSession;
  try {
    session =
      typeof model === "string"
        ? await ort.InferenceSession.create(model, sessionOptions)
        : await ort.InferenceSession.create(model, sessionOptions);
  } catch (cause) {
    const what = typeof model === "string" ? model : `a ${model.byteLength}-byte model`;
    const reason = firstLine(cause).replace(/^Load model from .* failed:\s*/, "");
    throw new ModelLoadError(
      `ONNX Runtime ${ort.env.versions.common ?? ""} could not load ${what}: ${reason}; ` +
        "check that it is a valid ONNX model whose opsets and operators this ONNX Runtime supports, or export it again",
      reason,
      { cause },
    );
  }
  return wrap(session);
}

function wrap(session: ort.InferenceSession): Session {
  const describe = (meta: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] =>
    meta.map((m) =>
      m.isTensor
        ? { name: m.name, type: m.type as ElementType, shape: m.shape as (number | string)[] }
        : { name: m.name, type: undefined, shape: undefined },
    );
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputs: describe(session.inputMetadata),
    outputs: describe(session.outputMetadata),
    async run(feeds, outputNames) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        ortFeeds[name] = new ort.Tensor(t.type as ort.Tensor.Type, t.data as ort.Tensor.DataType, [...t.dims]);
      }
      let results: ort.InferenceSession.OnnxValueMapType;
      try {
        results = outputNames ? await session.run(ortFeeds, [...outputNames]) : await session.run(ortFeeds);
      } catch (cause) {
        throw new RuntimeError(`ONNX Runtime failed to run the model: ${firstLine(cause)}`, { cause });
      }
      const out: Record<string, TensorData> = {};
      for (const [name, value] of Object.entries(results)) {
        const t = value as ort.Tensor;
        out[name] = { type: t.type as ElementType, dims: t.dims, data: t.data as TensorValues };
      }
      return out;
    },
    release: () => session.release(),
  };
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}
