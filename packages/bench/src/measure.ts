/**
 * The measurement itself, run inside one process on one model: cold and warm
 * session creation, warm-up and timed iterations under the run rules, the
 * process's peak resident set, and accuracy against a stored reference. The
 * worker runs this in a fresh child process; the fidelity benchmark calls it
 * in-process.
 */
import { ConfigurationError } from "@slmops/diagnostics";
import { createSession } from "@slmops/runtime";
import type { GraphOptimizationLevel, Session, TensorData } from "@slmops/runtime";
import { AccuracyAccumulator, argmax, logSoftmax } from "./accuracy.js";
import type { AccuracyMetrics } from "./accuracy.js";
import { decoderFeeds, detectDecoder, emptyCache, genericFeeds, lastLogits, nextCache, seededPrompt, toNumbers } from "./model-io.js";
import type { DecoderLayout } from "./model-io.js";
import { readReference, rowCount, writeReference } from "./reference-file.js";
import type { ReferenceKey } from "./reference-file.js";
import { runUnderRules } from "./run-rules.js";
import type { RunOutcome, RunRules } from "./run-rules.js";

export type ModelKind = "auto" | "decoder" | "encoder" | "generic";

/** ONNX Runtime session settings taken from a device entry. */
export interface SessionSettings {
  readonly executionProviders: readonly string[];
  /** 0 lets ONNX Runtime choose. */
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
  readonly graphOptimizationLevel: GraphOptimizationLevel;
}

export interface MeasureJob {
  readonly modelPath: string;
  readonly kind: ModelKind;
  readonly session: SessionSettings;
  readonly rules: RunRules;
  /** Decoders: prompt length for time to first token. Other models: length of symbolic sequence dimensions. */
  readonly promptTokens: number;
  /** Decoders: tokens generated after the first one, with the KV cache. */
  readonly generateTokens: number;
  readonly seed: number;
  /** A stored reference (already checked by the caller's key) to measure accuracy against. */
  readonly reference?: { readonly path: string; readonly key: ReferenceKey };
}

export type MeasurePhase = "load" | "warmup" | "measure" | "accuracy";

export interface MeasureProgress {
  readonly phase: MeasurePhase;
  /** Timed iterations done so far (measure phase). */
  readonly iterations?: number;
  readonly elapsedMs?: number;
}

export interface Measurement {
  readonly kind: "decoder" | "generic";
  readonly loadColdMs: number;
  readonly loadWarmMs: number;
  /** Peak resident set of this process after loading ONNX Runtime but before the model. */
  readonly baselineRssBytes: number;
  /** Peak resident set of this process at the end of the timed run (before accuracy). */
  readonly peakRssBytes: number;
  readonly run: RunOutcome;
  /** Generic models: wall time of each timed inference (ms). */
  readonly latencyMs?: readonly number[];
  /** Decoders: time to first token of each timed generation (ms). */
  readonly ttftMs?: readonly number[];
  /** Decoders: wall time of each decode step (ms), all generations in order. */
  readonly decodeMs?: readonly number[];
  /** Decoders: the context length (cached positions) each decode step ran with. */
  readonly decodeContext?: readonly number[];
  readonly accuracy?: AccuracyMetrics;
  /** Why accuracy could not be measured, when a reference was given but the comparison failed. */
  readonly accuracyError?: string;
}

/** Peak resident set of this process so far, from the OS (getrusage ru_maxrss). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

function openSession(job: Pick<MeasureJob, "modelPath" | "session">): Promise<Session> {
  return createSession(job.modelPath, {
    executionProviders: job.session.executionProviders,
    intraOpThreads: job.session.intraOpThreads,
    interOpThreads: job.session.interOpThreads,
    graphOptimizationLevel: job.session.graphOptimizationLevel,
  });
}

function layoutFor(session: Session, kind: ModelKind, modelPath: string): DecoderLayout | undefined {
  const layout = kind === "encoder" || kind === "generic" ? undefined : detectDecoder(session);
  if (kind === "decoder" && !layout) {
    throw new Error(
      `${modelPath} is declared a decoder but lacks the Optimum decoder inputs (input_ids, past_key_values.{i}.key|value) and outputs (logits, present.{i}.key|value)`,
    );
  }
  return layout;
}

/** Benchmarks one model in this process. */
export async function measureModel(job: MeasureJob, onProgress: (p: MeasureProgress) => void = () => undefined): Promise<Measurement> {
  const baselineRssBytes = peakRssBytes();
  onProgress({ phase: "load" });
  let t = performance.now();
  const cold = await openSession(job);
  const loadColdMs = performance.now() - t;
  await cold.release();
  t = performance.now();
  const session = await openSession(job);
  const loadWarmMs = performance.now() - t;
  try {
    const layout = layoutFor(session, job.kind, job.modelPath);
    const report = (iterations: number, elapsedMs: number) => onProgress({ phase: "measure", iterations, elapsedMs });
    onProgress({ phase: "warmup" });
    let measured: Omit<Measurement, "loadColdMs" | "loadWarmMs" | "baselineRssBytes" | "peakRssBytes" | "accuracy">;
    if (layout) {
      measured = await measureDecoder(session, layout, job, report);
    } else {
      measured = await measureGeneric(session, job, report);
    }
    const peak = peakRssBytes();
    let accuracy: { accuracy: AccuracyMetrics } | { accuracyError: string } | undefined;
    if (job.reference) {
      onProgress({ phase: "accuracy" });
      try {
        if (!layout) throw new Error("accuracy needs a decoder model (logits over a vocabulary)");
        accuracy = { accuracy: await measureAccuracy(session, layout, job.reference) };
      } catch (error) {
        accuracy = { accuracyError: error instanceof Error ? error.message : String(error) };
      }
    }
    return { ...measured, loadColdMs, loadWarmMs, baselineRssBytes, peakRssBytes: peak, ...accuracy };
  } finally {
    await session.release();
  }
}

/** Per-inference wall time of `session.run` on fixed, seeded inputs. */
export async function measureGeneric(
  session: Session,
  job: Pick<MeasureJob, "rules" | "seed" | "promptTokens">,
  onIteration?: (done: number, elapsedMs: number) => void,
): Promise<{ kind: "generic"; run: RunOutcome; latencyMs: number[] }> {
  const feeds = genericFeeds(session.inputs, job.seed, job.promptTokens);
  const latencyMs: number[] = [];
  const run = await runUnderRules(
    job.rules,
    async (_i, timed) => {
      const start = performance.now();
      await session.run(feeds);
      const elapsed = performance.now() - start;
      if (timed) latencyMs.push(elapsed);
    },
    onIteration,
  );
  return { kind: "generic", run, latencyMs };
}

/** Vocabulary size, from the model's metadata or a one-token probe. */
async function vocabularyOf(session: Session, layout: DecoderLayout): Promise<number> {
  if (layout.vocab !== undefined) return layout.vocab;
  const out = await session.run(decoderFeeds(layout, [0], 0, emptyCache(layout)), ["logits"]);
  return lastLogits(out).vocab;
}

/**
 * One iteration is one generation: a seeded prompt of `promptTokens` is
 * prefilled and one token sampled greedily (time to first token), then
 * `generateTokens` single-token decode steps run with the KV cache, each
 * timed from feeding the token to having the next one.
 */
export async function measureDecoder(
  session: Session,
  layout: DecoderLayout,
  job: Pick<MeasureJob, "rules" | "seed" | "promptTokens" | "generateTokens">,
  onIteration?: (done: number, elapsedMs: number) => void,
): Promise<{ kind: "decoder"; run: RunOutcome; ttftMs: number[]; decodeMs: number[]; decodeContext: number[] }> {
  if (job.promptTokens < 1) throw new RangeError("prompt-tokens must be at least 1 for a decoder");
  const vocab = await vocabularyOf(session, layout);
  const prompt = seededPrompt(job.seed, job.promptTokens, vocab);
  const ttftMs: number[] = [];
  const decodeMs: number[] = [];
  const decodeContext: number[] = [];
  const run = await runUnderRules(
    job.rules,
    async (_i, timed) => {
      const prefillFeeds = decoderFeeds(layout, prompt, 0, emptyCache(layout));
      let start = performance.now();
      let out = await session.run(prefillFeeds);
      let last = lastLogits(out);
      let token = argmax(last.data, last.offset, last.vocab);
      let elapsed = performance.now() - start;
      if (timed) ttftMs.push(elapsed);
      let cache = nextCache(layout, out);
      let past = prompt.length;
      for (let step = 0; step < job.generateTokens; step++) {
        const feeds = decoderFeeds(layout, [token], past, cache);
        start = performance.now();
        out = await session.run(feeds);
        last = lastLogits(out);
        token = argmax(last.data, last.offset, last.vocab);
        elapsed = performance.now() - start;
        if (timed) {
          decodeMs.push(elapsed);
          decodeContext.push(past);
        }
        cache = nextCache(layout, out);
        past++;
      }
    },
    onIteration,
  );
  return { kind: "decoder", run, ttftMs, decodeMs, decodeContext };
}

/** Logits `[1, n, vocab]` of a whole sequence, prefilled from an empty cache. */
async function sequenceLogits(session: Session, layout: DecoderLayout, tokens: readonly number[]): Promise<{ data: ArrayLike<number>; vocab: number }> {
  const out = await session.run(decoderFeeds(layout, tokens, 0, emptyCache(layout)), ["logits"]);
  const logits = out.logits as TensorData;
  const vocab = logits.dims.at(-1) ?? 0;
  if (logits.dims.length !== 3 || logits.dims[1] !== tokens.length) {
    throw new Error(`expected logits of shape [1, ${tokens.length}, vocab], got ${JSON.stringify(logits.dims)}`);
  }
  return { data: toNumbers(logits), vocab };
}

async function measureAccuracy(session: Session, layout: DecoderLayout, ref: { path: string; key: ReferenceKey }): Promise<AccuracyMetrics> {
  const reference = await readReference(ref.path, ref.key);
  const { vocab, sequences } = reference.header;
  const acc = new AccuracyAccumulator();
  let row = 0;
  for (const tokens of sequences) {
    if (tokens.length < 2) continue;
    const logits = await sequenceLogits(session, layout, tokens);
    if (logits.vocab !== vocab) throw new Error(`the variant's vocabulary (${logits.vocab}) differs from the reference's (${vocab})`);
    for (let pos = 0; pos + 1 < tokens.length; pos++) {
      const refRow = reference.logProbs.subarray(row * vocab, (row + 1) * vocab);
      acc.add(refRow, logits.data, pos * vocab, tokens[pos + 1] as number);
      row++;
    }
  }
  return acc.result();
}

export interface ReferenceJob {
  readonly modelPath: string;
  readonly session: SessionSettings;
  readonly key: ReferenceKey;
  readonly sequences: readonly (readonly number[])[];
  /** Where to write the reference (atomically). */
  readonly outputPath: string;
}

/** Runs the fp32 source model over the eval sequences and stores its next-token log-probabilities. */
export async function computeReference(job: ReferenceJob): Promise<void> {
  const session = await openSession(job);
  try {
    const layout = layoutFor(session, "decoder", job.modelPath) as DecoderLayout;
    const vocab = await vocabularyOf(session, layout);
    for (const tokens of job.sequences) {
      const bad = tokens.find((t) => !Number.isInteger(t) || t < 0 || t >= vocab);
      // The eval set and tokenizer the manifest names do not fit this model: the configuration is wrong, not the run.
      if (bad !== undefined) throw new ConfigurationError(`token id ${bad} is outside the model's vocabulary of ${vocab}; is the tokenizer the model's?`);
    }
    const logProbs = new Float32Array(rowCount(job.sequences) * vocab);
    let row = 0;
    for (const tokens of job.sequences) {
      if (tokens.length < 2) continue;
      const logits = await sequenceLogits(session, layout, tokens);
      for (let pos = 0; pos + 1 < tokens.length; pos++) {
        logProbs.set(logSoftmax(logits.data, pos * vocab, vocab), row * vocab);
        row++;
      }
    }
    await writeReference(job.outputPath, { key: job.key, vocab, sequences: job.sequences }, logProbs);
  } finally {
    await session.release();
  }
}
