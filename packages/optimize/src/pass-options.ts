/**
 * The passes a variant lists, as plain objects with the manifest's names
 * (`slmops.yaml` → `models[].variants[].passes[]`): exactly one key per pass.
 * `normalizePass` checks a plain object and fills in the defaults.
 */
import { ConfigurationError } from "@slmops/diagnostics";
import type { ErrorWeighting } from "./block-quant.js";
import { isValidBlockSize } from "./matmul-nbits.js";

export interface QuantizePassOptions {
  /** Bits per weight, block-wise and weight-only (`com.microsoft` `MatMulNBits`) unless int8 has `activations: dynamic`. */
  readonly weights: "int4" | "int8";
  /** int8 only: `none` (default, weight-only) or `dynamic` (per-channel weights, activations quantized at run time). */
  readonly activations?: "none" | "dynamic";
  /** Block-wise only: 16, 32, 64 or 128; default 32. */
  readonly "block-size"?: number;
  /** Default `false` for int4 (zero point per block), `true` for int8 (always, with dynamic activations). */
  readonly symmetric?: boolean;
  /**
   * Block-wise only: `rtn` (default), `minimize-error`, or `gptq` (calibrated:
   * each layer's output error on activations from calibration text; needs
   * the calibration token sequences, `OptimizeOptions.calibration`).
   */
  readonly method?: "rtn" | "minimize-error" | "gptq";
  /** Block-wise only: MatMulNBits' `accuracy_level` (fp32 = 1 … int8 = 4); default unset. */
  readonly "accuracy-level"?: "fp32" | "fp16" | "bf16" | "int8";
  /** Nodes to leave in full precision: names or patterns (`node-patterns.ts`). */
  readonly "exclude-nodes"?: readonly string[];
  /**
   * Block-wise only: other settings for some nodes (mixed precision), the
   * first override whose `nodes` match a MatMul applying to it.
   */
  readonly overrides?: readonly QuantizeOverrideOptions[];
}

/**
 * Settings for the MatMuls `nodes` selects (names or patterns). What it does
 * not write is the pass's, but for `symmetric`, which follows the default of
 * the override's own `weights` when it changes them.
 */
export interface QuantizeOverrideOptions {
  readonly nodes: readonly string[];
  readonly weights?: "int4" | "int8";
  readonly "block-size"?: number;
  readonly symmetric?: boolean;
  readonly method?: "rtn" | "minimize-error" | "gptq";
  readonly "accuracy-level"?: "fp32" | "fp16" | "bf16" | "int8";
}

export interface ConvertPassOptions {
  readonly to: "fp16";
  /** Keep float inputs and outputs in fp32 (Casts at the edges); default `true`. */
  readonly "keep-io-types"?: boolean;
  /** Operator types computed in fp32 (Casts around them); default none. */
  readonly "keep-ops"?: readonly string[];
}

export interface PrunePassOptions {
  /** Share of weights set to zero: a fraction in [0, 1) or a percentage string like `"50%"`. */
  readonly sparsity: number | string;
  /** `per-layer` (default): every weight matrix reaches the sparsity; `global`: one threshold for all. */
  readonly scope?: "per-layer" | "global";
}

export interface GraphOptimizePassOptions {
  /** `basic` or `extended` (default); `layout` and `all` need `allow-machine-specific`. */
  readonly level?: "basic" | "extended" | "layout" | "all";
  readonly "allow-machine-specific"?: boolean;
}

/** One pass, as written in a manifest. */
export type PassSpec =
  | { readonly quantize: QuantizePassOptions }
  | { readonly convert: ConvertPassOptions }
  | { readonly prune: PrunePassOptions }
  | { readonly "graph-optimize": GraphOptimizePassOptions };

export type PassName = "quantize" | "convert" | "prune" | "graph-optimize";

/** How block-wise weights are quantized: a pass's settings, or an override's with the pass's filled in. */
export interface BlockSettings {
  readonly weights: "int4" | "int8";
  readonly blockSize: number;
  readonly symmetric: boolean;
  readonly method: "rtn" | "minimize-error" | "gptq";
  /** MatMulNBits' `accuracy_level` (1-4); undefined leaves it to ONNX Runtime. */
  readonly accuracyLevel: number | undefined;
  /**
   * Why `accuracyLevel` is what it is when the manifest did not write it:
   * the default chosen for the execution providers the variant runs on
   * (`accuracy-level.ts`). Absent when written, or before defaults are resolved.
   */
  readonly accuracyLevelDefault?: string;
}

/** An override with every setting resolved. */
export interface NormalizedOverride extends BlockSettings {
  readonly nodes: readonly string[];
}

/** A pass with every default filled in. */
export type NormalizedPass =
  | (BlockSettings & {
      readonly name: "quantize";
      readonly activations: "none";
      readonly excludeNodes: readonly string[];
      /** Mixed precision: the first whose `nodes` match a MatMul sets how it is quantized. */
      readonly overrides: readonly NormalizedOverride[];
      /** `minimize-error` only; not manifest options. Defaults `uniform` and 0 (see block-quant.ts). */
      readonly weighting?: ErrorWeighting;
      readonly biasWeight?: number;
    })
  | { readonly name: "quantize"; readonly weights: "int8"; readonly activations: "dynamic"; readonly excludeNodes: readonly string[] }
  | { readonly name: "convert"; readonly to: "fp16"; readonly keepIoTypes: boolean; readonly keepOps: readonly string[] }
  | { readonly name: "prune"; readonly sparsity: number; readonly scope: "per-layer" | "global" }
  | { readonly name: "graph-optimize"; readonly level: "basic" | "extended" | "layout" | "all"; readonly allowMachineSpecific: boolean };

/** MatMulNBits' `accuracy_level` numbers, by the manifest's names. */
export const ACCURACY_LEVELS = { fp32: 1, fp16: 2, bf16: 3, int8: 4 } as const;

/**
 * Validates one pass given as a plain object and fills in its defaults.
 * `where` names the pass in messages (e.g. `passes[1]`).
 */
export function normalizePass(spec: unknown, where = "pass"): NormalizedPass {
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw new ConfigurationError(`${where} must be an object with one key: quantize, convert, prune or graph-optimize`);
  }
  const keys = Object.keys(spec);
  if (keys.length !== 1) {
    throw new ConfigurationError(
      `${where} must have exactly one key (quantize, convert, prune or graph-optimize), found ${keys.length === 0 ? "none" : keys.join(", ")}`,
    );
  }
  const name = keys[0]!;
  const body = (spec as Record<string, unknown>)[name] ?? {};
  const at = `${where}.${name}`;
  const o = object(body, at);
  switch (name) {
    case "quantize": {
      allowOnly(o, at, ["weights", "activations", "block-size", "symmetric", "method", "accuracy-level", "exclude-nodes", "overrides"]);
      const weights = oneOf(o.weights, `${at}.weights`, ["int4", "int8"] as const, undefined);
      const activations = oneOf(o.activations, `${at}.activations`, ["none", "dynamic"] as const, "none");
      const excludeNodes = stringList(o["exclude-nodes"], `${at}.exclude-nodes`);
      if (activations === "dynamic") {
        if (weights !== "int8") throw new ConfigurationError(`${at}.activations: dynamic activation quantization applies to int8 weights only; remove it or use weights: int8`);
        for (const key of ["block-size", "method", "accuracy-level", "overrides"] as const) {
          if (o[key] !== undefined) throw new ConfigurationError(`${at}.${key} applies to block-wise weight-only quantization, not to activations: dynamic; remove it or remove activations: dynamic`);
        }
        if (o.symmetric === false) {
          throw new ConfigurationError(`${at}.symmetric: with dynamic activations, int8 weights are symmetric per channel; remove \`symmetric: false\``);
        }
        return { name: "quantize", weights, activations, excludeNodes };
      }
      const settings = blockSettings(o, at, { weights, blockSize: 32, symmetric: undefined, method: "rtn", accuracyLevel: undefined });
      if (o.overrides !== undefined && !Array.isArray(o.overrides)) throw new ConfigurationError(`${at}.overrides must be a list of { nodes, weights, … }`);
      const overrides = ((o.overrides ?? []) as unknown[]).map((entry, i): NormalizedOverride => {
        const where = `${at}.overrides[${i}]`;
        const e = object(entry, where);
        allowOnly(e, where, ["nodes", "weights", "block-size", "symmetric", "method", "accuracy-level"]);
        const nodes = stringList(e.nodes, `${where}.nodes`);
        if (nodes.length === 0) throw new ConfigurationError(`${where}.nodes must name at least one node (a name or a pattern like \`/model/layers.0/**\`)`);
        const own = oneOf(e.weights, `${where}.weights`, ["int4", "int8"] as const, settings.weights);
        return {
          nodes,
          ...blockSettings(e, where, { ...settings, weights: own, symmetric: own === settings.weights ? settings.symmetric : undefined }),
        };
      });
      return { name: "quantize", activations, ...settings, excludeNodes, overrides };
    }
    case "convert": {
      allowOnly(o, at, ["to", "keep-io-types", "keep-ops"]);
      return {
        name: "convert",
        to: oneOf(o.to, `${at}.to`, ["fp16"] as const, undefined),
        keepIoTypes: boolean(o["keep-io-types"], `${at}.keep-io-types`, true),
        keepOps: stringList(o["keep-ops"], `${at}.keep-ops`),
      };
    }
    case "prune": {
      allowOnly(o, at, ["sparsity", "scope"]);
      return {
        name: "prune",
        sparsity: fraction(o.sparsity, `${at}.sparsity`),
        scope: oneOf(o.scope, `${at}.scope`, ["per-layer", "global"] as const, "per-layer"),
      };
    }
    case "graph-optimize": {
      allowOnly(o, at, ["level", "allow-machine-specific"]);
      const level = oneOf(o.level, `${at}.level`, ["basic", "extended", "layout", "all"] as const, "extended");
      const allowMachineSpecific = boolean(o["allow-machine-specific"], `${at}.allow-machine-specific`, false);
      if ((level === "layout" || level === "all") && !allowMachineSpecific) {
        throw new ConfigurationError(
          `${at}.level \`${level}\` writes a model tied to the machine that optimized it; use \`basic\` or \`extended\`, or set \`allow-machine-specific: true\``,
        );
      }
      return { name: "graph-optimize", level, allowMachineSpecific };
    }
    default:
      throw new ConfigurationError(`${where}: unknown pass \`${name}\`; use quantize, convert, prune or graph-optimize`);
  }
}

/** A short, stable description of a pass for records and logs, e.g. `quantize(int4, block 32, rtn)`. */
export function describePass(pass: NormalizedPass): string {
  switch (pass.name) {
    case "quantize":
      return pass.activations === "none"
        ? `quantize(${[describeSettings(pass), ...pass.overrides.map(describeOverride)].join("; ")})`
        : "quantize(int8, per-channel, dynamic activations)";
    case "convert":
      return `convert(fp16${pass.keepIoTypes ? ", fp32 io" : ""}${pass.keepOps.length ? `, keep ${pass.keepOps.join("/")}` : ""})`;
    case "prune":
      return `prune(${Math.round(pass.sparsity * 1000) / 10}%, ${pass.scope})`;
    case "graph-optimize":
      return `graph-optimize(${pass.level})`;
  }
}

/** The block-wise settings `o` writes, the rest from `inherit` (`symmetric` undefined: the default for the weights). */
function blockSettings(
  o: Record<string, unknown>,
  at: string,
  inherit: Omit<BlockSettings, "symmetric"> & { readonly symmetric: boolean | undefined },
): BlockSettings {
  const weights = oneOf(o.weights, `${at}.weights`, ["int4", "int8"] as const, inherit.weights);
  const blockSize = o["block-size"] ?? inherit.blockSize;
  if (typeof blockSize !== "number" || !isValidBlockSize(blockSize) || blockSize > 128) {
    throw new ConfigurationError(`${at}.block-size must be 16, 32, 64 or 128, got ${JSON.stringify(blockSize)}`);
  }
  const level = oneOf(o["accuracy-level"], `${at}.accuracy-level`, ["fp32", "fp16", "bf16", "int8"] as const, null);
  return {
    weights,
    blockSize,
    symmetric: boolean(o.symmetric, `${at}.symmetric`, inherit.symmetric ?? weights === "int8"),
    method: oneOf(o.method, `${at}.method`, ["rtn", "minimize-error", "gptq"] as const, inherit.method),
    accuracyLevel: level === null ? inherit.accuracyLevel : ACCURACY_LEVELS[level],
  };
}

/** The manifest's name of an accuracy level number. */
export function accuracyLevelName(level: number): string {
  return Object.entries(ACCURACY_LEVELS).find(([, n]) => n === level)?.[0] ?? String(level);
}

/** `/lm_head/MatMul: int8, block 32, symmetric, rtn` */
export function describeOverride(o: NormalizedOverride): string {
  return `${o.nodes.join(" ")}: ${describeSettings(o)}`;
}

/** `int4, block 32, zero points, rtn, accuracy int8 (default for cpu)` */
export function describeSettings(s: BlockSettings): string {
  const level = s.accuracyLevel === undefined ? "" : `, accuracy ${accuracyLevelName(s.accuracyLevel)}${s.accuracyLevelDefault ? ` (${s.accuracyLevelDefault})` : ""}`;
  return `${s.weights}, block ${s.blockSize}, ${s.symmetric ? "symmetric" : "zero points"}, ${s.method}${level}`;
}

function object(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ConfigurationError(`${at} must be an object`);
  return v as Record<string, unknown>;
}

function allowOnly(o: Record<string, unknown>, at: string, keys: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (!keys.includes(key)) throw new ConfigurationError(`${at}: unknown option \`${key}\`; expected one of ${keys.join(", ")}`);
  }
}

function oneOf<T extends string, D extends T | null | undefined>(v: unknown, at: string, values: readonly T[], fallback: D): T | Exclude<D, undefined> {
  if (v === undefined) {
    if (fallback === undefined) throw new ConfigurationError(`${at} is required: one of ${values.join(", ")}`);
    return fallback as Exclude<D, undefined>;
  }
  if (typeof v !== "string" || !values.includes(v as T)) {
    throw new ConfigurationError(`${at} must be one of ${values.join(", ")}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

function boolean(v: unknown, at: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") throw new ConfigurationError(`${at} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function stringList(v: unknown, at: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string" || s.length === 0)) {
    throw new ConfigurationError(`${at} must be a list of names`);
  }
  return [...(v as string[])];
}

function fraction(v: unknown, at: string): number {
  let value: number | undefined;
  if (typeof v === "number") value = v;
  else if (typeof v === "string" && /^\s*\d+(\.\d+)?\s*%\s*$/.test(v)) value = Number.parseFloat(v) / 100;
  if (value === undefined || !Number.isFinite(value) || value < 0 || value >= 1) {
    throw new ConfigurationError(`${at} must be a share below 100%, like 0.5 or "50%", got ${JSON.stringify(v)}`);
  }
  return value;
}
