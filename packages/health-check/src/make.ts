/**
 * Making a release's health-check fixture: the built variant itself is run
 * in ONNX Runtime on a fixed input, and what it answers becomes the expected
 * output, with the tolerance a device on another CPU may need.
 */
import { genericFeeds, seededPrompt } from "@slmops/bench/model-io";
import { ConfigurationError } from "@slmops/diagnostics";
import { createSession, detectDecoder, type DecoderLayout, type Session, type SessionOptions, type TensorData } from "@slmops/runtime";
import {
  HEALTH_CHECK_LIMITS,
  HEALTH_CHECK_VERSION,
  parseHealthCheck,
  type DecoderHealthCheck,
  type FixtureElementType,
  type FixtureInput,
  type FixtureOutput,
  type GenericHealthCheck,
  type HealthCheck,
  type Tolerance,
} from "./fixture.js";
import { decimal, decoderLogits, elements, fixtureInputOf, numbersOf, scaleOf, spreadIndices, topIndices } from "./procedure.js";

/** The manifest's model kinds (`decoder` | `encoder` | `generic`). */
export type ModelKind = "decoder" | "encoder" | "generic";

export interface MakeHealthCheckOptions {
  /** The manifest's `kind` for the model: `decoder` requires the decoder convention; `encoder` and `generic` get a generic fixture. Default: a decoder fixture when the model follows the convention, else a generic one. */
  readonly kind?: ModelKind;
  /** How ONNX Runtime runs the model (default: CPU, its defaults, weights not prepacked — the fixture runs once). */
  readonly session?: SessionOptions;
}

/** The fixed input: its seed and sizes are part of what makes a fixture reproducible. */
export const FIXTURE_SEED = 0x5eed;
/** Tokens of a decoder fixture: seven in the prefill, then one decoded with the KV cache. */
export const PREFILL_TOKENS = 7;
export const DECODE_TOKENS = 1;
/** Top ids recorded, and fixed ids spread over the vocabulary, in a decoder's fingerprint. */
export const TOP_IDS = 8;
export const SPREAD_IDS = 32;
/** Sequence length given to a generic model's symbolic token dimensions, and values fingerprinted per output. */
export const GENERIC_SEQUENCE = 8;
export const OUTPUT_INDICES = 64;

/**
 * The tolerance, in units of the recorded scale (the standard deviation of
 * the fingerprinted output): root mean square of the differences ≤ 0.4,
 * every difference ≤ 1. The package README gives the figures it is chosen
 * from. On the maker's decoders (nano, tiny, small), two different
 * quantizations of one model (fp32, int8, int4, each against the others'
 * fixtures) differ by 0.07–0.21 (rms) and at most 0.61 (largest), which is
 * far more than one quantized graph differs from itself on another CPU's
 * kernels; another model of the same shape (another seed) differs by
 * 1.59–1.98 (rms), 3.6–5.4 (largest), and a variant with one weight matrix
 * overwritten by 1.84–2.69 (rms).
 */
export const TOLERANCE: Tolerance = { rms: "0.4", max: "1" };

/**
 * The health-check fixture of the model at `modelPath` (a built variant):
 * plain JSON, every non-integer as a decimal string, the same on every run
 * on the same machine.
 */
export async function makeHealthCheck(modelPath: string, options: MakeHealthCheckOptions = {}): Promise<HealthCheck> {
  const session = await createSession(modelPath, { prepackWeights: false, ...options.session });
  try {
    const layout = options.kind === "encoder" || options.kind === "generic" ? undefined : detectDecoder(session);
    if (options.kind === "decoder" && !layout) {
      throw new ConfigurationError(
        `${modelPath} is declared a decoder but does not follow the decoder convention (input_ids, attention_mask, past_key_values.{i}.key|value → logits, present.{i}.key|value); its health check cannot be made`,
      );
    }
    const fixture = layout ? await decoderFixture(session, layout) : await genericFixture(session, modelPath);
    // What the device will read must be what it can run: a fixture that the reader would refuse is not published.
    return parseHealthCheck(fixture);
  } finally {
    await session.release();
  }
}

async function decoderFixture(session: Session, layout: DecoderLayout): Promise<DecoderHealthCheck> {
  const vocab = layout.vocab ?? (await decoderLogits(session, layout, [0], [])).length;
  const tokens = seededPrompt(FIXTURE_SEED, PREFILL_TOKENS + DECODE_TOKENS, vocab);
  const prefill = tokens.slice(0, PREFILL_TOKENS);
  const decode = tokens.slice(PREFILL_TOKENS);
  const logits = await decoderLogits(session, layout, prefill, decode);
  if (logits.some((v) => !Number.isFinite(v))) throw new ConfigurationError("the model's logits on the health-check input are not all finite; a model that answers NaN or Infinity cannot be released");
  const top = topIndices(logits, Math.min(TOP_IDS, vocab));
  const ids = [...top, ...spreadIndices(vocab, SPREAD_IDS).filter((id) => !top.includes(id))];
  const margin = top.length > 1 ? (logits[top[0]!] as number) - (logits[top[1]!] as number) : 0;
  return {
    version: HEALTH_CHECK_VERSION,
    kind: "decoder",
    inputs: { prefill, decode },
    expected: {
      vocab: logits.length,
      top,
      margin: decimal(margin),
      scale: decimal(scaleOf(logits)),
      ids,
      logits: ids.map((id) => decimal(logits[id] as number)),
    },
    tolerance: TOLERANCE,
  };
}

async function genericFixture(session: Session, modelPath: string): Promise<GenericHealthCheck> {
  for (const info of session.inputs) {
    if (info.type === undefined || info.type === "string") {
      throw new ConfigurationError(`input ${info.name} of ${modelPath} is ${info.type === undefined ? "not a tensor" : "a string tensor"}; a health-check fixture feeds numeric tensors only`);
    }
  }
  const feeds = genericFeeds(session.inputs, FIXTURE_SEED, GENERIC_SEQUENCE);
  const total = Object.values(feeds).reduce((n, t) => n + elements(t.dims), 0);
  if (total > HEALTH_CHECK_LIMITS.inputValues) {
    throw new ConfigurationError(
      `the inputs of ${modelPath} hold ${total} values with symbolic dimensions at 1 and sequences at ${GENERIC_SEQUENCE}; a health-check fixture holds at most ${HEALTH_CHECK_LIMITS.inputValues}. Export the model with symbolic (dynamic) input dimensions`,
    );
  }
  const inputs: FixtureInput[] = session.inputs.map((info) => fixtureInputOf(info.name, feeds[info.name] as TensorData));
  const names = session.outputs.filter((o) => o.type !== undefined && o.type !== "string").map((o) => o.name).slice(0, HEALTH_CHECK_LIMITS.tensors);
  if (names.length === 0) throw new ConfigurationError(`${modelPath} has no numeric tensor output to check`);
  const outputs = await session.run(feeds, names);
  const expected = names.map((name) => outputFingerprint(name, outputs[name] as TensorData));
  return { version: HEALTH_CHECK_VERSION, kind: "generic", inputs, expected, tolerance: TOLERANCE };
}

function outputFingerprint(name: string, t: TensorData): FixtureOutput {
  const values = numbersOf(t);
  const float = t.type === "float32" || t.type === "float64" || t.type === "float16";
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (float ? !Number.isFinite(v) : !Number.isSafeInteger(v)) {
      throw new ConfigurationError(`output ${name} holds ${String(v)} on the health-check input; ${float ? "a model that answers NaN or Infinity" : "an integer output beyond 2^53"} cannot be health-checked`);
    }
  }
  const indices = spreadIndices(values.length, OUTPUT_INDICES);
  return {
    name,
    type: t.type as FixtureElementType,
    dims: [...t.dims],
    indices,
    values: indices.map((i) => (float ? decimal(values[i] as number) : (values[i] as number))),
    scale: float ? decimal(scaleOf(values)) : "0",
  };
}
