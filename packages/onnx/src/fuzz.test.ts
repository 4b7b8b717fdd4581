/**
 * Fuzzing the reader with mutations of real models: the ONNX backend test
 * data (Debian's libonnx-testdata, as in libonnx-testdata.test.ts) and the
 * maker's example decoder checked into examples/. Each case flips bits,
 * truncates, rewrites a length field, renumbers a field or repeats a field
 * many times, then decodes the result and reads every tensor. Every case
 * must end in a model or a ConfigurationError (never another exception,
 * never a crash), and the process's peak resident set must grow by less
 * than MEMORY_BOUND over the whole run. Seeded: a failure names its case,
 * which reproduces with the same seed.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";
import { describe, expect, it } from "vitest";
import { DataType, decodeModel, forEachTensor, tensorRawBytes, type ModelProto } from "./index.js";
import { encodeModel } from "./codec.js";
import { mlpModel } from "./test-support/models.js";

const CASES = 5000;
const SEED = 20_261_202;
/**
 * Decoding costs up to ~250 bytes of memory per input byte (an empty node is
 * 2 bytes on disk, ~500 decoded), inputs here are at most ~1.3 MB plus a
 * 1 MiB repeated run, and garbage from earlier cases is collected lazily.
 */
const MEMORY_BOUND = 512 * 1024 * 1024;
/** Larger test models add time, not coverage. */
const MAX_SEED_BYTES = 256 * 1024;
const SEED_MODELS = 120;

const DATA_ROOT = process.env["SLMOPS_ONNX_TESTDATA"] ?? "/usr/share/libonnx-testdata/data";
const EXAMPLE_MODEL = join(import.meta.dirname, "..", "..", "..", "examples", "story-lm", "models", "story-lm", "model.onnx");

/** xorshift32: small, fast and the same everywhere. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

function seedModels(): { name: string; bytes: Uint8Array }[] {
  const found: { name: string; bytes: Uint8Array }[] = [];
  if (existsSync(DATA_ROOT)) {
    const paths: string[] = [];
    for (const suite of ["node", "simple", "pytorch-converted", "pytorch-operator"]) {
      const root = join(DATA_ROOT, suite);
      if (!existsSync(root)) continue;
      for (const name of readdirSync(root).sort()) {
        const path = join(root, name, "model.onnx");
        if (existsSync(path) && statSync(path).size <= MAX_SEED_BYTES) paths.push(path);
      }
    }
    // An even spread over the suites, the same on every run.
    const step = Math.max(1, Math.floor(paths.length / SEED_MODELS));
    for (let i = 0; i < paths.length; i += step) found.push({ name: paths[i]!.slice(DATA_ROOT.length + 1), bytes: readFileSync(paths[i]!) });
  }
  found.push({ name: "examples/story-lm model.onnx", bytes: readFileSync(EXAMPLE_MODEL) });
  found.push({ name: "mlpModel()", bytes: encodeModel(mlpModel()) });
  return found;
}

interface Field {
  readonly tag: number;
  readonly tagLength: number;
  /** Offset of the length varint (length-delimited fields only). */
  readonly lengthAt?: number;
  readonly lengthBytes?: number;
  readonly end: number;
}

function readVarint(bytes: Uint8Array, at: number): [value: number, length: number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10 && at + i < bytes.length; i++) {
    const b = bytes[at + i]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  return undefined;
}

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/**
 * Every field of a valid encoding, found without the schema: a
 * length-delimited payload that parses as fields to its end is walked as a
 * message (a string or packed run that happens to parse is walked too; that
 * only adds mutation sites).
 */
function fieldsOf(bytes: Uint8Array, start: number, end: number, out: Field[], depth = 0): boolean {
  let pos = start;
  const mark = out.length;
  while (pos < end) {
    const tag = readVarint(bytes, pos);
    if (!tag || tag[0] < 8) break;
    const wire = tag[0] % 8;
    const after = pos + tag[1];
    let fieldEnd: number;
    if (wire === 0) {
      const v = readVarint(bytes, after);
      if (!v) break;
      fieldEnd = after + v[1];
      out.push({ tag: pos, tagLength: tag[1], end: fieldEnd });
    } else if (wire === 1 || wire === 5) {
      fieldEnd = after + (wire === 1 ? 8 : 4);
      out.push({ tag: pos, tagLength: tag[1], end: fieldEnd });
    } else if (wire === 2) {
      const length = readVarint(bytes, after);
      if (!length) break;
      fieldEnd = after + length[1] + length[0];
      if (fieldEnd > end) break;
      out.push({ tag: pos, tagLength: tag[1], lengthAt: after, lengthBytes: length[1], end: fieldEnd });
      if (depth < 40 && length[0] > 0) fieldsOf(bytes, after + length[1], fieldEnd, out, depth + 1);
    } else break;
    if (fieldEnd > end) break;
    pos = fieldEnd;
  }
  if (pos !== end) {
    out.length = mark; // not a message after all
    return false;
  }
  return true;
}

function splice(bytes: Uint8Array, at: number, remove: number, insert: readonly number[] | Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length - remove + insert.length);
  out.set(bytes.subarray(0, at));
  out.set(insert, at);
  out.set(bytes.subarray(at + remove), at + insert.length);
  return out;
}

type Mutation = "bit flips" | "truncation" | "length field" | "field number" | "repeated field";
const MUTATIONS: readonly Mutation[] = ["bit flips", "truncation", "length field", "field number", "repeated field"];

function mutate(bytes: Uint8Array, fields: readonly Field[], kind: Mutation, rand: () => number): Uint8Array {
  const pick = <T,>(list: readonly T[]): T => list[rand() % list.length]!;
  switch (kind) {
    case "bit flips": {
      const out = bytes.slice();
      for (let i = 1 + (rand() % 4); i > 0; i--) out[rand() % out.length]! ^= 1 << (rand() % 8);
      return out;
    }
    case "truncation":
      return bytes.slice(0, rand() % bytes.length);
    case "length field": {
      const delimited = fields.filter((f) => f.lengthAt !== undefined);
      if (delimited.length === 0) return bytes.slice(0, bytes.length - 1);
      const f = pick(delimited);
      const [old] = readVarint(bytes, f.lengthAt!)!;
      const value = pick([0, old + 1, Math.max(0, old - 1), old * 2, 2 ** 31 - 1, 2 ** 31, 2 ** 40, 2 ** 53, rand()]);
      return splice(bytes, f.lengthAt!, f.lengthBytes!, varint(value));
    }
    case "field number": {
      const f = pick(fields);
      const [old] = readVarint(bytes, f.tag)!;
      const wire = rand() % 4 === 0 ? rand() % 8 : old % 8;
      const number = pick([1 + (rand() % 30), 1 + (rand() % 2 ** 29), 0, (old >> 3) + 1]);
      return splice(bytes, f.tag, f.tagLength, varint(number * 8 + wire));
    }
    case "repeated field": {
      // One field written 2–50 000 times where it stood, up to 1 MiB: counts grow, not bytes.
      const f = pick(fields);
      const copy = bytes.subarray(f.tag, f.end);
      const times = Math.min(1 + (rand() % 50_000), Math.floor(2 ** 20 / Math.max(1, copy.length)));
      const run = new Uint8Array(copy.length * times);
      for (let i = 0; i < times; i++) run.set(copy, i * copy.length);
      return splice(bytes, f.tag, copy.length, run);
    }
  }
}

type Outcome = "model" | "refused";

/** Decodes and reads every tensor; returns how it ended, or throws what it should not have. */
function read(bytes: Uint8Array): Outcome {
  let model: ModelProto;
  try {
    model = decodeModel(bytes, { name: "fuzzed.onnx" });
  } catch (error) {
    if (error instanceof ConfigurationError) return "refused";
    throw error;
  }
  try {
    forEachTensor(model, (t) => {
      if (t.dataLocation !== 1 && t.dataType !== DataType.STRING) tensorRawBytes(t);
    });
  } catch (error) {
    if (error instanceof ConfigurationError) return "refused";
    throw error;
  }
  return "model";
}

describe("fuzzing the ONNX reader", () => {
  it(`ends ${CASES} mutated real models in a model or a ConfigurationError, peak memory growing less than ${MEMORY_BOUND / 2 ** 20} MiB`, () => {
    const seeds = seedModels();
    if (process.env["CI"] === "true") expect(seeds.length, "libonnx-testdata is missing").toBeGreaterThan(100);
    const prepared = seeds.map((s) => {
      const fields: Field[] = [];
      fieldsOf(s.bytes, 0, s.bytes.length, fields);
      expect(read(s.bytes), `${s.name} unmutated`).toBe("model");
      return { ...s, fields };
    });
    const rand = random(SEED);
    const outcomes: Record<Mutation, Record<Outcome, number>> = Object.fromEntries(
      MUTATIONS.map((m) => [m, { model: 0, refused: 0 }]),
    ) as Record<Mutation, Record<Outcome, number>>;
    const before = process.memoryUsage().rss;
    for (let i = 0; i < CASES; i++) {
      const seed = prepared[rand() % prepared.length]!;
      const kind = MUTATIONS[i % MUTATIONS.length]!;
      const bytes = mutate(seed.bytes, seed.fields, kind, rand);
      let outcome: Outcome;
      try {
        outcome = read(bytes);
      } catch (error) {
        throw new Error(`case ${i} (${kind} of ${seed.name}, seed ${SEED}) threw ${String(error)}`, { cause: error });
      }
      outcomes[kind][outcome]++;
    }
    const growth = process.resourceUsage().maxRSS * 1024 - before;
    expect(growth).toBeLessThan(MEMORY_BOUND);
    for (const kind of MUTATIONS) {
      const { model, refused } = outcomes[kind];
      expect(model + refused, kind).toBe(CASES / MUTATIONS.length);
    }
    // The mutations reach the checks: each kind is refused at least sometimes.
    for (const kind of MUTATIONS) expect(outcomes[kind].refused, kind).toBeGreaterThan(0);
  });
});
