/**
 * Reference next-token distributions of the fp32 source model on an eval set,
 * stored once and reused, so a small device need not run the fp32 model.
 *
 * Layout: the magic line `SLMOPS-REFERENCE-LOGPROBS 1\n`, a little-endian
 * uint32 header length, the UTF-8 JSON header, then float32 little-endian
 * log-probabilities: for every sequence of n tokens, n − 1 rows of `vocab`
 * values (row i predicts token i + 1). The header carries the cache key, the
 * tokens, and the sha256 of the data; a stored file is checked against all of
 * them before use.
 */
import { open, readFile, stat } from "node:fs/promises";
import { writeFileAtomic } from "@slmops/atomic-file";
import { sha256 } from "./hashing.js";

const MAGIC = Buffer.from("SLMOPS-REFERENCE-LOGPROBS 1\n", "utf8");
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

/** What a reference was computed from; two references are interchangeable when these match. */
export interface ReferenceKey {
  /** The fp32 source model's identity digest (its file and external data, `@slmops/variant-identity`). */
  readonly modelSha256: string;
  /** sha256 of the eval dataset file. */
  readonly evalSha256: string;
  /** sha256 of the tokenizer.json used. */
  readonly tokenizerSha256: string;
  readonly maxSequences: number;
  readonly maxSequenceTokens: number;
}

export interface ReferenceHeader {
  readonly key: ReferenceKey;
  readonly vocab: number;
  /** Token ids of each eval sequence. */
  readonly sequences: readonly (readonly number[])[];
  readonly dataSha256: string;
}

export interface Reference {
  readonly header: ReferenceHeader;
  /** All rows, concatenated. */
  readonly logProbs: Float32Array;
}

/** A stored reference that cannot be used: wrong key, damaged or tampered with. */
export class InvalidReferenceError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`reference logits ${path} cannot be used: ${reason}`);
    this.name = "InvalidReferenceError";
  }
}

/** A stable file name for a key. */
export function referenceFileName(key: ReferenceKey): string {
  return `reference-${sha256(JSON.stringify(canonicalKey(key))).slice(0, 32)}.logprobs`;
}

function canonicalKey(key: ReferenceKey): ReferenceKey {
  return {
    modelSha256: key.modelSha256,
    evalSha256: key.evalSha256,
    tokenizerSha256: key.tokenizerSha256,
    maxSequences: key.maxSequences,
    maxSequenceTokens: key.maxSequenceTokens,
  };
}

export function rowCount(sequences: readonly (readonly number[])[]): number {
  return sequences.reduce((sum, s) => sum + Math.max(0, s.length - 1), 0);
}

export async function writeReference(path: string, header: Omit<ReferenceHeader, "dataSha256">, logProbs: Float32Array): Promise<void> {
  const expected = rowCount(header.sequences) * header.vocab;
  if (logProbs.length !== expected) throw new RangeError(`reference has ${logProbs.length} values, expected ${expected}`);
  const data = littleEndianBytes(logProbs);
  const full: ReferenceHeader = { key: canonicalKey(header.key), vocab: header.vocab, sequences: header.sequences, dataSha256: sha256(data) };
  const json = Buffer.from(JSON.stringify(full), "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  await writeFileAtomic(path, Buffer.concat([MAGIC, length, json, data]));
}

function littleEndianBytes(values: Float32Array): Uint8Array {
  const out = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i] as number, i * 4);
  return out;
}

/**
 * Reads a stored reference and checks it: format, header shape, that its key
 * equals `expected` (when given), that the data has exactly the rows its
 * tokens call for, and that the data's sha256 matches.
 */
export async function readReference(path: string, expected?: ReferenceKey): Promise<Reference> {
  const fail = (reason: string) => new InvalidReferenceError(path, reason);
  const size = (await stat(path)).size;
  if (size < MAGIC.length + 4) throw fail("the file is too short");
  const handle = await open(path, "r");
  let headerLength: number;
  try {
    const head = Buffer.alloc(MAGIC.length + 4);
    await handle.read(head, 0, head.length, 0);
    if (!head.subarray(0, MAGIC.length).equals(MAGIC)) throw fail("it is not a reference file (bad magic)");
    headerLength = head.readUInt32LE(MAGIC.length);
  } finally {
    await handle.close();
  }
  if (headerLength > MAX_HEADER_BYTES || MAGIC.length + 4 + headerLength > size) throw fail("the header length is out of bounds");
  const bytes = await readFile(path);
  let header: ReferenceHeader;
  try {
    header = JSON.parse(bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + headerLength).toString("utf8")) as ReferenceHeader;
  } catch {
    throw fail("the header is not valid JSON");
  }
  checkHeaderShape(header, fail);
  if (expected) {
    const want = canonicalKey(expected);
    for (const field of Object.keys(want) as (keyof ReferenceKey)[]) {
      if (header.key[field] !== want[field]) throw fail(`it was computed for a different ${field} (${String(header.key[field])}, expected ${String(want[field])})`);
    }
  }
  const data = bytes.subarray(MAGIC.length + 4 + headerLength);
  const rows = rowCount(header.sequences);
  if (data.length !== rows * header.vocab * 4) {
    throw fail(`the data holds ${data.length} bytes, but ${rows} rows of ${header.vocab} float32 values need ${rows * header.vocab * 4}`);
  }
  if (sha256(data) !== header.dataSha256) throw fail("the data does not match its sha256 (damaged or modified)");
  const logProbs = new Float32Array(rows * header.vocab);
  for (let i = 0; i < logProbs.length; i++) logProbs[i] = data.readFloatLE(i * 4);
  return { header, logProbs };
}

function checkHeaderShape(header: unknown, fail: (reason: string) => Error): asserts header is ReferenceHeader {
  const h = header as Partial<ReferenceHeader> | null;
  const key = h?.key as Partial<ReferenceKey> | undefined;
  const isHex = (v: unknown) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);
  const isCount = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0;
  if (
    !h ||
    typeof h !== "object" ||
    !key ||
    !isHex(key.modelSha256) ||
    !isHex(key.evalSha256) ||
    !isHex(key.tokenizerSha256) ||
    !isCount(key.maxSequences) ||
    !isCount(key.maxSequenceTokens) ||
    !isCount(h.vocab) ||
    (h.vocab as number) < 1 ||
    !isHex(h.dataSha256) ||
    !Array.isArray(h.sequences) ||
    !h.sequences.every((s) => Array.isArray(s) && s.every((t) => isCount(t) && t < (h.vocab as number)))
  ) {
    throw fail("the header does not have the expected fields");
  }
}
