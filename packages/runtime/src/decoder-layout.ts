/**
 * The decoder convention slmops follows (SPEC "ONNX conventions"): the
 * Hugging Face Optimum / Transformers.js export, inputs `input_ids`,
 * `attention_mask`, `position_ids` (optional), `past_key_values.{i}.key|value`;
 * outputs `logits`, `present.{i}.key|value` — and `use_cache_branch` (bool,
 * [1]) where Optimum merged the decoders with and without a cache into one
 * model, or no `position_ids` where, as ONNX Runtime GenAI's builder writes
 * it, attention computes positions from the mask. One definition, read from a
 * session's inputs and outputs, for the benchmark that feeds a decoder and
 * the optimizer that checks a model declared as one.
 */
import { ConfigurationError } from "@slmops/diagnostics";
import type { Session } from "./index.js";

/** A model that names decoder inputs but breaks the convention (a cache input without its output, a cache of the wrong shape). */
export class DecoderLayoutError extends ConfigurationError {}

/** One layer's KV cache: the names to feed and to read back, and its shape. */
export interface CacheSlot {
  readonly input: string;
  readonly output: string;
  readonly type: "float32" | "float16";
  readonly heads: number;
  readonly headDim: number;
}

export interface DecoderLayout {
  readonly hasAttentionMask: boolean;
  readonly hasPositionIds: boolean;
  /** Optimum's merged decoder: `use_cache_branch` is fed true once the cache holds something. */
  readonly hasUseCacheBranch: boolean;
  readonly cache: readonly CacheSlot[];
  /** Vocabulary size when the model states it; otherwise learnt from the first run. */
  readonly vocab: number | undefined;
}

const PAST = /^past_key_values\.(\d+)\.(key|value)$/;
export const USE_CACHE_BRANCH = "use_cache_branch";

/** The decoder layout of a session, or undefined when it is not an Optimum-style decoder. */
export function detectDecoder(session: Pick<Session, "inputs" | "outputs">): DecoderLayout | undefined {
  const inputs = new Map(session.inputs.map((i) => [i.name, i]));
  const outputs = new Map(session.outputs.map((o) => [o.name, o]));
  if (!inputs.has("input_ids") || !outputs.has("logits")) return undefined;
  const cache: CacheSlot[] = [];
  for (const info of session.inputs) {
    const m = PAST.exec(info.name);
    if (!m) continue;
    const output = `present.${m[1]}.${m[2]}`;
    if (!outputs.has(output)) {
      throw new DecoderLayoutError(`decoder input ${info.name} has no matching output ${output}`);
    }
    const [, heads, , headDim] = info.shape ?? [];
    if (typeof heads !== "number" || typeof headDim !== "number" || info.shape?.length !== 4) {
      throw new DecoderLayoutError(
        `decoder input ${info.name} must have shape [batch, kv_heads, past, head_dim] with fixed kv_heads and head_dim, ` +
          `got ${JSON.stringify(info.shape)}`,
      );
    }
    if (info.type !== "float32" && info.type !== "float16") {
      throw new DecoderLayoutError(`decoder input ${info.name} must be float32 or float16, got ${String(info.type)}`);
    }
    cache.push({ input: info.name, output, type: info.type, heads, headDim });
  }
  if (cache.length === 0) return undefined;
  const vocabDim = outputs.get("logits")?.shape?.at(-1);
  const branch = inputs.get(USE_CACHE_BRANCH);
  if (branch && branch.type !== "bool") {
    throw new DecoderLayoutError(`decoder input ${USE_CACHE_BRANCH} must be a bool of shape [1] (Optimum's merged decoder), got ${String(branch.type)}`);
  }
  return {
    hasAttentionMask: inputs.has("attention_mask"),
    hasPositionIds: inputs.has("position_ids"),
    hasUseCacheBranch: branch !== undefined,
    cache,
    vocab: typeof vocabDim === "number" ? vocabDim : undefined,
  };
}
