import { resolve } from "node:path";
import { posix } from "node:path";
import { METRICS, isMetricName } from "./metrics.js";
import { isObject, listAt, objectAt, type RawObject, stringAt } from "./raw.js";
import { pointerSegment } from "./tree.js";
import type {
  BenchSettings,
  Device,
  ExecutionProvider,
  ExpiryRole,
  Gate,
  GraphOptimizationLevel,
  Manifest,
  ManifestPath,
  MetricLimit,
  Model,
  ModelKind,
  Pass,
  RegressionCheck,
  Release,
  Variant,
  VariantRef,
} from "./types.js";
import { readValue, type ValueKind } from "./values.js";

/** The release roles whose metadata expiry the manifest may set. */
export const EXPIRY_ROLES: readonly ExpiryRole[] = ["root", "targets", "snapshot", "timestamp", "rollout"];

/** Defaults the schema documents, applied here. */
const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULTS = Object.freeze({
  kind: "generic" as ModelKind,
  executionProviders: Object.freeze(["cpu"]) as readonly ExecutionProvider[],
  graphOptimizationLevel: "all" as GraphOptimizationLevel,
  bench: Object.freeze({ warmup: 5, minIterations: 50, minDurationMs: 10_000, promptTokens: 128, generateTokens: 64, timeoutMs: 30 * 60_000, seed: 0 }),
  blockSize: 32 as const,
  method: "rtn" as const,
  graphOptimizeLevel: "extended" as const,
  pruneScope: "per-layer" as const,
  confidence: 0.95,
  channel: "stable",
  minDevices: 10,
  /** Metadata expiry per release role, in milliseconds (the schema's defaults: 365d, 90d, 7d, 1d, 7d). */
  expiryMs: Object.freeze({ root: 365 * DAY_MS, targets: 90 * DAY_MS, snapshot: 7 * DAY_MS, timestamp: 1 * DAY_MS, rollout: 7 * DAY_MS }),
});

/**
 * Builds the typed manifest from plain data that passed the schema and the
 * semantic checks: units become numbers, defaults are applied, references
 * are resolved, and the result is deeply frozen.
 */
export function normalize(data: RawObject, root: string): Manifest {
  const models = listAt(data, "models").map((model, m) => normalizeModel(model as RawObject, m, root));
  const devices = listAt(data, "devices").map((device, d) => normalizeDevice(device as RawObject, d));
  const manifest: Manifest = {
    version: 1,
    models,
    devices,
    bench: normalizeBench(objectAt(data, "bench")),
    gates: listAt(data, "gates").map((gate, g) => normalizeGate(gate as RawObject, g, models, devices)),
    ...(isObject(data.release) ? { release: normalizeRelease(data.release, models) } : {}),
  };
  return deepFreeze(manifest);
}

function path(written: string, root: string): ManifestPath {
  return { written, resolved: resolve(root, posix.normalize(written)) };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function normalizeModel(model: RawObject, m: number, root: string): Model {
  const id = model.id as string;
  const evaluation = objectAt(model, "eval");
  const calibration = objectAt(model, "calibration");
  return {
    id,
    ...optional("description", stringAt(model, "description")),
    source: path(model.source as string, root),
    kind: (stringAt(model, "kind") as ModelKind | undefined) ?? DEFAULTS.kind,
    ...optional(
      "eval",
      evaluation
        ? { dataset: path(evaluation.dataset as string, root), ...optional("tokenizer", typeof evaluation.tokenizer === "string" ? path(evaluation.tokenizer, root) : undefined) }
        : undefined,
    ),
    ...optional(
      "calibration",
      calibration
        ? { dataset: path(calibration.dataset as string, root), ...optional("tokenizer", typeof calibration.tokenizer === "string" ? path(calibration.tokenizer, root) : undefined) }
        : undefined,
    ),
    variants: listAt(model, "variants").map((variant, v) => normalizeVariant(variant as RawObject, id, `/models/${m}/variants/${v}`)),
    pointer: `/models/${m}`,
  };
}

function normalizeVariant(variant: RawObject, model: string, pointer: string): Variant {
  return {
    id: variant.id as string,
    model,
    ...optional("description", stringAt(variant, "description")),
    passes: listAt(variant, "passes").map((pass) => normalizePass(pass as RawObject)),
    pointer,
  };
}

function normalizePass(pass: RawObject): Pass {
  const quantize = objectAt(pass, "quantize");
  if (quantize) {
    const excludeNodes = (quantize["exclude-nodes"] as string[] | undefined) ?? [];
    const int8 = quantize.weights === "int8";
    if (int8 && quantize.activations === "dynamic") {
      return { kind: "quantize", weights: "int8", activations: "dynamic", symmetric: true, excludeNodes };
    }
    return {
      kind: "quantize",
      weights: int8 ? "int8" : "int4",
      activations: "none",
      // 8 bits are symmetric unless written (an implicit zero point of 128); 4 bits keep a zero point per block.
      symmetric: typeof quantize.symmetric === "boolean" ? quantize.symmetric : int8,
      excludeNodes,
      blockSize: (quantize["block-size"] as 16 | 32 | 64 | 128 | undefined) ?? DEFAULTS.blockSize,
      method: (quantize.method as "rtn" | "minimize-error" | "gptq" | undefined) ?? DEFAULTS.method,
      ...optional("accuracyLevel", quantize["accuracy-level"] as "fp32" | "fp16" | "bf16" | "int8" | undefined),
      overrides: ((quantize.overrides as RawObject[] | undefined) ?? []).map((o) => ({
        nodes: o.nodes as string[],
        ...optional("weights", o.weights as "int4" | "int8" | undefined),
        ...optional("blockSize", o["block-size"] as 16 | 32 | 64 | 128 | undefined),
        ...optional("symmetric", o.symmetric as boolean | undefined),
        ...optional("method", o.method as "rtn" | "minimize-error" | "gptq" | undefined),
        ...optional("accuracyLevel", o["accuracy-level"] as "fp32" | "fp16" | "bf16" | "int8" | undefined),
      })),
    };
  }
  const convert = objectAt(pass, "convert");
  if (convert) {
    return { kind: "convert", to: "fp16", keepIoTypes: convert["keep-io-types"] !== false, keepOps: (convert["keep-ops"] as string[] | undefined) ?? [] };
  }
  const prune = objectAt(pass, "prune");
  if (prune) {
    return { kind: "prune", sparsity: readValue("fraction", prune.sparsity) as number, scope: (prune.scope as "per-layer" | "global" | undefined) ?? DEFAULTS.pruneScope };
  }
  const optimize = objectAt(pass, "graph-optimize") ?? {};
  return {
    kind: "graph-optimize",
    level: (optimize.level as "basic" | "extended" | "layout" | "all" | undefined) ?? DEFAULTS.graphOptimizeLevel,
    allowMachineSpecific: optimize["allow-machine-specific"] === true,
  };
}

function normalizeDevice(device: RawObject, d: number): Device {
  const budget = readValue("size", device["memory-budget"]);
  return {
    id: device.id as string,
    ...optional("description", stringAt(device, "description")),
    runsOn: device["runs-on"] as string[],
    executionProviders: (device["execution-providers"] as ExecutionProvider[] | undefined) ?? DEFAULTS.executionProviders,
    ...optional("threads", typeof device.threads === "number" ? device.threads : undefined),
    ...optional("memoryBudgetBytes", typeof budget === "number" ? budget : undefined),
    graphOptimizationLevel: (device["graph-optimization-level"] as GraphOptimizationLevel | undefined) ?? DEFAULTS.graphOptimizationLevel,
    ...optional("privateEvalDataset", stringAt(device, "private-eval-dataset")),
    allowFromForks: device["allow-from-forks"] === true,
    pointer: `/devices/${d}`,
  };
}

function normalizeBench(bench: RawObject | undefined): BenchSettings {
  const d = DEFAULTS.bench;
  const int = (key: string, fallback: number): number => (bench && typeof bench[key] === "number" ? (bench[key] as number) : fallback);
  const ms = (key: string, fallback: number): number => {
    const value = readValue("duration", bench?.[key]);
    return typeof value === "number" ? value : fallback;
  };
  return {
    warmup: int("warmup", d.warmup),
    minIterations: int("min-iterations", d.minIterations),
    minDurationMs: ms("min-duration", d.minDurationMs),
    promptTokens: int("prompt-tokens", d.promptTokens),
    generateTokens: int("generate-tokens", d.generateTokens),
    timeoutMs: ms("timeout", d.timeoutMs),
    seed: int("seed", d.seed),
  };
}

/** Resolves `variant` or `model/variant` (already checked to resolve uniquely). */
function resolveRef(reference: string, models: readonly Model[], scope: ReadonlySet<string>): VariantRef {
  const slash = reference.indexOf("/");
  if (slash !== -1) return { model: reference.slice(0, slash), variant: reference.slice(slash + 1) };
  const owner = models.find((m) => scope.has(m.id) && m.variants.some((v) => v.id === reference));
  return { model: owner?.id ?? "", variant: reference };
}

function normalizeGate(gate: RawObject, g: number, models: readonly Model[], devices: readonly Device[]): Gate {
  const pointer = `/gates/${g}`;
  const modelScope = new Set((gate.models as string[] | undefined) ?? models.map((m) => m.id));
  const deviceIds = (gate.devices as string[] | undefined) ?? devices.map((d) => d.id);
  const variants = Array.isArray(gate.variants)
    ? (gate.variants as string[]).map((ref) => resolveRef(ref, models, modelScope))
    : models.filter((m) => modelScope.has(m.id)).flatMap((m) => m.variants.map((v) => ({ model: m.id, variant: v.id })));
  const require = objectAt(gate, "require") ?? {};
  const limits: MetricLimit[] = [];
  for (const [name, raw] of Object.entries(require)) {
    if (!isMetricName(name) || !isObject(raw)) continue;
    const spec = METRICS[name];
    const bound = (key: "max" | "min") => {
      const value = readValue(spec.kind as ValueKind, raw[key]);
      return typeof value === "number" ? value : undefined;
    };
    limits.push({ metric: name, unit: spec.unit, ...optional("max", bound("max")), ...optional("min", bound("min")), pointer: `${pointer}/require/${pointerSegment(name)}` });
  }
  const regression = objectAt(require, "regression");
  const name =
    stringAt(gate, "name") ??
    `${Array.isArray(gate.devices) ? deviceIds.join(", ") : "all devices"} × ${Array.isArray(gate.variants) ? (gate.variants as string[]).join(", ") : "all variants"}`;
  return {
    name,
    devices: deviceIds,
    variants,
    limits,
    ...optional("regression", regression ? normalizeRegression(regression, `${pointer}/require/regression`) : undefined),
    allowFingerprintMismatch: gate["allow-fingerprint-mismatch"] === true,
    pointer,
  };
}

function normalizeRegression(regression: RawObject, pointer: string): RegressionCheck {
  const metric = regression.metric as keyof typeof METRICS;
  const worseWhen = METRICS[metric].worseWhen;
  const written = worseWhen === "higher" ? regression["max-increase"] : regression["max-decrease"];
  const maxWorsening = readValue("percentage", written);
  return {
    metric,
    worseWhen,
    maxWorsening: typeof maxWorsening === "number" ? maxWorsening : 0,
    confidence: typeof regression.confidence === "number" ? regression.confidence : DEFAULTS.confidence,
    requireBaseline: regression["require-baseline"] === true,
    pointer,
  };
}

function normalizeRelease(release: RawObject, models: readonly Model[]): Release {
  const all = new Set(models.map((m) => m.id));
  const targets = Object.entries(objectAt(release, "targets") ?? {}).map(([device, ref]) => ({
    device,
    ...resolveRef(ref as string, models, all),
    pointer: `/release/targets/${pointerSegment(device)}`,
  }));
  const rollout = objectAt(release, "rollout");
  const stages = rollout && Array.isArray(rollout.stages) ? (rollout.stages as RawObject[]) : [{ percent: 100 }];
  const abort = objectAt(rollout, "abort");
  const failureRate = abort ? readValue("fraction", abort["failure-rate"]) : undefined;
  const expiry = objectAt(release, "expiry");
  const expiryMs = Object.fromEntries(
    EXPIRY_ROLES.map((role) => {
      const written = expiry ? readValue("duration", expiry[role]) : undefined;
      return [role, typeof written === "number" ? written : DEFAULTS.expiryMs[role]];
    }),
  ) as Record<ExpiryRole, number>;
  return {
    channel: stringAt(release, "channel") ?? DEFAULTS.channel,
    expiryMs,
    targets,
    rollout: {
      stages: stages.map((stage) => {
        const soak = readValue("duration", stage.soak);
        return { percent: stage.percent as number, soakMs: typeof soak === "number" ? soak : 0 };
      }),
      ...optional(
        "abort",
        abort && typeof failureRate === "number"
          ? { failureRate, minDevices: typeof abort["min-devices"] === "number" ? abort["min-devices"] : DEFAULTS.minDevices }
          : undefined,
      ),
    },
  };
}

/** Freezes an object graph of plain objects and arrays. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
