/**
 * Running a release's health-check fixture on the device: load the installed
 * model, feed the fixture's input, compare with its expected output within
 * its tolerance, time it against the device's budget. A model that does not
 * load or run is a failed check, not an exception; a fixture that is not one
 * is refused ({@link InvalidHealthCheckError}) before anything runs.
 */
import { percentile } from "@slmops/bench/statistics";
import { createSession, detectDecoder, type DecoderLayout, type Session, type SessionOptions, type TensorData } from "@slmops/runtime";
import { parseHealthCheck, quote, readDecimal, type DecoderHealthCheck, type GenericHealthCheck, type Tolerance } from "./fixture.js";
import { decoderLogits, deviation, elements, numbersOf, tensorOf, topIndices, type Deviation } from "./procedure.js";

export interface RunHealthCheckOptions {
  /** The device's latency budget for the fixture's run, in milliseconds; unset: latency is measured, not judged. */
  readonly budgetMs?: number;
  /** How ONNX Runtime runs the model on this device (threads, execution providers), as the device runs it in service. */
  readonly session?: SessionOptions;
  /** Timed runs after the checked one; the latency is their median. Default 3. */
  readonly timedRuns?: number;
}

export interface HealthCheckResult {
  /** True when the model loaded, ran, answered as the fixture expects and (with a budget) in time. */
  readonly ok: boolean;
  /** Why not, one sentence each; empty when ok. */
  readonly problems: readonly string[];
  readonly kind: "decoder" | "generic";
  /** Median wall time of the fixture's run (all its calls), ms; absent when the model did not run it. */
  readonly latencyMs?: number;
  /** The budget it was judged against, when one was given. */
  readonly budgetMs?: number;
  /** Session creation, ms; absent when the model did not load. */
  readonly loadMs?: number;
  /** How far the answer was from the fixture's, in units of its scale (the worst output's, for a generic fixture); absent when not compared. */
  readonly deviation?: { readonly rms: number; readonly max: number };
  /** Decoders: the expected and the actual top-1 token, and whether the fixture's margin made the top-1 a requirement. */
  readonly top1?: { readonly expected: number; readonly actual: number; readonly required: boolean };
}

/** Checks that the installed model at `modelPath` answers the fixture (from the release's signed metadata) as expected. */
export async function runHealthCheck(modelPath: string, fixture: unknown, options: RunHealthCheckOptions = {}): Promise<HealthCheckResult> {
  const checked = parseHealthCheck(fixture);
  const budgetMs = options.budgetMs;
  if (budgetMs !== undefined && !(Number.isFinite(budgetMs) && budgetMs > 0)) throw new RangeError(`budgetMs must be a positive number of milliseconds, got ${String(budgetMs)}`);
  const timedRuns = options.timedRuns ?? 3;
  if (!Number.isInteger(timedRuns) || timedRuns < 1 || timedRuns > 1000) throw new RangeError(`timedRuns must be an integer from 1 to 1000, got ${String(timedRuns)}`);

  const base = { kind: checked.kind, ...(budgetMs === undefined ? {} : { budgetMs }) };
  const loadStart = performance.now();
  let session: Session;
  try {
    session = await createSession(modelPath, options.session ?? {});
  } catch (error) {
    return { ...base, ok: false, problems: [`the installed model does not load: ${message(error)}`] };
  }
  const loadMs = performance.now() - loadStart;
  try {
    const check = checked.kind === "decoder" ? decoderCheck(session, checked) : genericCheck(session, checked);
    let outcome: Outcome;
    try {
      outcome = await check.run();
    } catch (error) {
      return { ...base, loadMs, ok: false, problems: [`the installed model does not run the health-check input: ${message(error)}`] };
    }
    const problems = [...outcome.problems];
    if (!outcome.ran) return { ...base, loadMs, ok: false, problems };
    const samples: number[] = [];
    for (let i = 0; i < timedRuns; i++) {
      const start = performance.now();
      await check.time();
      samples.push(performance.now() - start);
    }
    const latencyMs = percentile(samples, 50);
    if (budgetMs !== undefined && latencyMs > budgetMs) {
      problems.push(`the health check took ${formatMs(latencyMs)} (median of ${timedRuns} runs), over the device's budget of ${formatMs(budgetMs)}`);
    }
    return {
      ...base,
      loadMs,
      latencyMs,
      ...(outcome.deviation ? { deviation: outcome.deviation } : {}),
      ...(outcome.top1 ? { top1: outcome.top1 } : {}),
      ok: problems.length === 0,
      problems,
    };
  } finally {
    await session.release();
  }
}

interface Outcome {
  /** Whether the model ran the input (it does not when it plainly is another model). */
  readonly ran: boolean;
  readonly problems: readonly string[];
  readonly deviation: HealthCheckResult["deviation"] | null;
  readonly top1: HealthCheckResult["top1"] | null;
}

/** A fixture bound to a session: `run` runs and compares (throws when the model cannot run it); `time` runs it again, once it ran. */
interface Check {
  run(): Promise<Outcome>;
  time(): Promise<unknown>;
}

const NOT_THIS_MODEL = "the installed model is not the one the fixture was made on, or its weights are damaged";

function decoderCheck(session: Session, f: DecoderHealthCheck): Check {
  const layout = detectDecoder(session);
  const { prefill, decode } = f.inputs;
  return {
    time: () => decoderLogits(session, layout as DecoderLayout, prefill, decode),
    async run() {
      if (!layout) {
        return { problems: ["the installed model is not a decoder (no input_ids, logits and KV cache) but the fixture is a decoder's; it is another model"], deviation: null, top1: null, ran: false };
      }
      if (layout.vocab !== undefined && layout.vocab !== f.expected.vocab) {
        return { problems: [`the installed model's vocabulary is ${layout.vocab} tokens, the fixture's ${f.expected.vocab}; it is another model`], deviation: null, top1: null, ran: false };
      }
      const logits = await decoderLogits(session, layout, prefill, decode);
      if (logits.length !== f.expected.vocab) {
        return { problems: [`the installed model answers ${logits.length} logits, the fixture expects ${f.expected.vocab}; it is another model`], deviation: null, top1: null, ran: false };
      }
      const problems: string[] = [];
      const nonFinite = logits.findIndex((v) => !Number.isFinite(v));
      if (nonFinite >= 0) problems.push(`the installed model's logits are not all finite (token ${nonFinite}: ${String(logits[nonFinite])})`);
      const scale = readDecimal(f.expected.scale, "/expected/scale");
      const expected = f.expected.logits.map((v, i) => readDecimal(v, `/expected/logits/${i}`));
      const d = deviation(expected, f.expected.ids.map((id) => logits[id] as number), scale);
      problems.push(
        ...toleranceProblems(d, f.tolerance, scale, expected.length, {
          what: "the logits",
          plural: true,
          position: (at) => `token ${f.expected.ids[at]}`,
          spread: "the fixture's logits over the vocabulary",
        }),
      );
      const expectedTop = f.expected.top[0] as number;
      const actualTop = topIndices(logits, 1)[0] as number;
      // Within tolerance, each of the two leading logits may move by max·scale: a margin above twice that cannot flip the top-1.
      const required = readDecimal(f.expected.margin, "/expected/margin") > 2 * readDecimal(f.tolerance.max, "/tolerance/max") * scale;
      if (required && actualTop !== expectedTop) {
        problems.push(`the installed model's most likely next token is ${actualTop}, the fixture's ${expectedTop} (by a margin the tolerance cannot explain); ${NOT_THIS_MODEL}`);
      }
      return { ran: true, problems, deviation: { rms: d.rms, max: d.max }, top1: { expected: expectedTop, actual: actualTop, required } };
    },
  };
}

function genericCheck(session: Session, f: GenericHealthCheck): Check {
  const feeds: Record<string, TensorData> = Object.fromEntries(f.inputs.map((input) => [input.name, tensorOf(input)]));
  const names = f.expected.map((o) => o.name);
  const modelInputs = new Set(session.inputNames);
  const fixtureInputs = new Set(f.inputs.map((i) => i.name));
  const missing = session.inputNames.filter((n) => !fixtureInputs.has(n));
  const unknown = f.inputs.map((i) => i.name).filter((n) => !modelInputs.has(n));
  const absent = names.filter((n) => !session.outputNames.includes(n));
  const mismatch = [
    ...(missing.length > 0 ? [`the installed model takes input${missing.length > 1 ? "s" : ""} ${list(missing)} that the fixture does not give`] : []),
    ...(unknown.length > 0 ? [`the fixture gives input${unknown.length > 1 ? "s" : ""} ${list(unknown)} that the installed model does not take`] : []),
    ...(absent.length > 0 ? [`the installed model has no output${absent.length > 1 ? "s" : ""} ${list(absent)}`] : []),
  ];
  return {
    time: () => session.run(feeds, names),
    async run() {
      if (mismatch.length > 0) return { ran: false, problems: mismatch.map((m) => `${m}; it is another model`), deviation: null, top1: null };
      const outputs = await session.run(feeds, names);
      const problems: string[] = [];
      const compared: Deviation[] = [];
      for (const [index, e] of f.expected.entries()) {
        const t = outputs[e.name] as TensorData;
        if (t.type !== e.type || t.dims.length !== e.dims.length || t.dims.some((d, i) => d !== e.dims[i])) {
          problems.push(`output ${quote(e.name)} is ${t.type} ${JSON.stringify(t.dims)}, the fixture's ${e.type} ${JSON.stringify(e.dims)}; it is another model`);
          continue;
        }
        const values = numbersOf(t);
        const actual = e.indices.map((i) => values[i] as number);
        const expected = e.values.map((v, i) => readDecimal(v, `/expected/${index}/values/${i}`));
        const scale = readDecimal(e.scale, `/expected/${index}/scale`);
        if (scale === 0) {
          const differs = actual.findIndex((v, i) => v !== expected[i]);
          if (differs >= 0) problems.push(`output ${quote(e.name)} holds ${actual[differs]} at ${e.indices[differs]}, the fixture ${expected[differs]} (integers must match exactly); ${NOT_THIS_MODEL}`);
          continue;
        }
        if (elements(t.dims) === 0) continue;
        const d = deviation(expected, actual, scale);
        problems.push(
          ...toleranceProblems(d, f.tolerance, scale, expected.length, {
            what: `output ${quote(e.name)}`,
            plural: false,
            position: (at) => `flat index ${e.indices[at]}`,
            spread: "the fixture's output",
          }),
        );
        compared.push(d);
      }
      const worst = compared.length === 0 ? null : { rms: Math.max(...compared.map((d) => d.rms)), max: Math.max(...compared.map((d) => d.max)) };
      return { ran: true, problems, deviation: worst, top1: null };
    },
  };
}

/** What is compared, for the sentence: `the logits differ`, `output "y" differs`, and what one fingerprint position is. */
interface Subject {
  readonly what: string;
  readonly plural: boolean;
  readonly position: (at: number) => string;
  /** What the scale is the spread of. */
  readonly spread: string;
}

function toleranceProblems(d: Deviation, tolerance: Tolerance, scale: number, count: number, subject: Subject): string[] {
  const rms = readDecimal(tolerance.rms, "/tolerance/rms");
  const max = readDecimal(tolerance.max, "/tolerance/max");
  const differ = `${subject.what} ${subject.plural ? "differ" : "differs"} from the fixture's`;
  const sigma = `σ = ${Number(scale.toPrecision(3))}, the spread of ${subject.spread}`;
  if (!(d.rms <= rms)) return [`${differ} by ${sigmas(d.rms)} (root mean square over ${count} values), over the tolerance of ${sigmas(rms)} (${sigma}); ${NOT_THIS_MODEL}`];
  if (!(d.max <= max)) return [`${differ} by up to ${sigmas(d.max)} (at ${subject.position(d.at)}), over the tolerance of ${sigmas(max)} (${sigma}); ${NOT_THIS_MODEL}`];
  return [];
}

function sigmas(v: number): string {
  return `${Number.isFinite(v) ? Number(v.toPrecision(3)) : String(v)}σ`;
}

function formatMs(ms: number): string {
  return `${Number(ms.toPrecision(3))} ms`;
}

function list(names: readonly string[]): string {
  const shown = names.slice(0, 5).map((n) => quote(n));
  return names.length > 5 ? `${shown.join(", ")} and ${names.length - 5} more` : shown.join(", ");
}

function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}
