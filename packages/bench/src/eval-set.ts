/**
 * The eval set: a JSON Lines file of `{"text": "..."}` objects, tokenized with
 * the model's `tokenizer.json`. Both are untrusted input, read with bounds;
 * a mistake is reported as `file:line:col` with how to fix it.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { readRegularFile } from "@slmops/contained-fs";
import { ConfigurationError, decodeUtf8 } from "@slmops/diagnostics";
import { sha256 } from "./hashing.js";

export interface EvalSource {
  /** Path of the eval dataset (JSON Lines). */
  readonly dataset: string;
  /** Path of the tokenizer.json. */
  readonly tokenizer: string;
  /** The dataset lives only on this device; the report identifies it by hash alone (it always does, this is recorded). */
  readonly private?: boolean;
}

export interface EvalLimits {
  /** Use at most this many sequences (the first ones). */
  readonly maxSequences: number;
  /** Truncate each sequence to this many tokens. */
  readonly maxSequenceTokens: number;
}

export interface TokenizedEval {
  readonly sha256: string;
  readonly tokenizerSha256: string;
  readonly sequences: number[][];
  readonly tokens: number;
}

const MAX_DATASET_BYTES = 64 * 1024 * 1024;
const MAX_TOKENIZER_BYTES = 64 * 1024 * 1024;
const MAX_TEXT_CHARS = 1024 * 1024;

/** Reads an eval file through the one bounded reader of untrusted files (a FIFO is refused, the size checked before reading). */
function readBounded(path: string, maxBytes: number, what: string): Promise<Buffer> {
  return readRegularFile(path, { maxBytes, what });
}

/** The file as text, or a ConfigurationError at the line and column of its first byte that is not UTF-8. */
function utf8Text(bytes: Uint8Array, file: string, what: string): string {
  const decoded = decodeUtf8(bytes);
  if (decoded.ok) return decoded.text;
  const { line, column } = decoded.position;
  throw new ConfigurationError(`${file}:${line}:${column}: error: the ${what} is not UTF-8 text (is it a binary file?)\n  hint: save it as UTF-8`);
}

/** The `text` of each line of a JSON Lines eval set (blank lines skipped). */
export function parseEvalLines(text: string, file: string, maxSequences: number): string[] {
  const texts: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length && texts.length < maxSequences; i++) {
    const line = (lines[i] as string).replace(/\r$/, "");
    if (line.trim() === "") continue;
    const where = `${file}:${i + 1}:1`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      throw new ConfigurationError(`${where}: error: not valid JSON (${(cause as Error).message})\n  hint: each line must be one JSON object like {"text": "..."}`, { cause });
    }
    const textValue = (value as { text?: unknown } | null)?.text;
    if (typeof value !== "object" || value === null || Array.isArray(value) || typeof textValue !== "string") {
      throw new ConfigurationError(`${where}: error: expected an object with a string \`text\`\n  hint: each line must be one JSON object like {"text": "..."}`);
    }
    if (textValue.length > MAX_TEXT_CHARS) throw new ConfigurationError(`${where}: error: the text is longer than ${MAX_TEXT_CHARS} characters; split it`);
    texts.push(textValue);
  }
  if (texts.length === 0) throw new ConfigurationError(`${file}: error: the eval set has no lines\n  hint: add lines like {"text": "..."}`);
  return texts;
}

export async function loadEval(source: EvalSource, limits: EvalLimits): Promise<TokenizedEval> {
  const datasetBytes = await readBounded(source.dataset, MAX_DATASET_BYTES, "eval dataset");
  const tokenizerBytes = await readBounded(source.tokenizer, MAX_TOKENIZER_BYTES, "tokenizer");
  const tokenizerText = utf8Text(tokenizerBytes, source.tokenizer, "tokenizer");
  let tokenizer: Tokenizer;
  try {
    const json: unknown = JSON.parse(tokenizerText);
    if (typeof json !== "object" || json === null || Array.isArray(json)) throw new Error("expected a JSON object");
    tokenizer = new Tokenizer(json, {});
  } catch (cause) {
    throw new ConfigurationError(`${source.tokenizer}: error: not a usable Hugging Face tokenizer.json (${(cause as Error).message})\n  hint: use the tokenizer.json saved with the model`, { cause });
  }
  const texts = parseEvalLines(utf8Text(datasetBytes, source.dataset, "eval dataset"), source.dataset, limits.maxSequences);
  let sequences: number[][];
  try {
    sequences = texts.map((text) => tokenizer.encode(text).ids.slice(0, limits.maxSequenceTokens));
  } catch (cause) {
    throw new ConfigurationError(`${source.tokenizer}: error: the tokenizer cannot encode the eval set (${(cause as Error).message})\n  hint: use the tokenizer.json saved with the model`, { cause });
  }
  return {
    sha256: sha256(datasetBytes),
    tokenizerSha256: sha256(tokenizerBytes),
    sequences,
    tokens: sequences.reduce((sum, s) => sum + s.length, 0),
  };
}

/** How much calibration text `method: gptq` uses: the first 64 texts, each up to 256 tokens. */
export const CALIBRATION_LIMITS: EvalLimits = { maxSequences: 64, maxSequenceTokens: 256 };

interface TextPaths {
  readonly dataset: { readonly written: string; readonly resolved: string };
  readonly tokenizer?: { readonly written: string; readonly resolved: string };
}

/**
 * A model's calibration text for `method: gptq`, tokenized: its
 * `calibration:` (with its tokenizer, else the eval set's), else its eval
 * set. `source` names the file as the manifest writes it.
 */
export async function loadCalibration(model: { readonly id: string; readonly calibration?: TextPaths; readonly eval?: TextPaths }): Promise<{ sequences: number[][]; source: string }> {
  const text = model.calibration ?? model.eval;
  const tokenizer = model.calibration?.tokenizer ?? model.eval?.tokenizer;
  if (!text || !tokenizer) {
    throw new ConfigurationError(`model \`${model.id}\` has no calibration text with a tokenizer; add \`calibration: { dataset: …, tokenizer: … }\` (or \`eval:\` with a tokenizer) to it in the manifest`);
  }
  const loaded = await loadEval({ dataset: text.dataset.resolved, tokenizer: tokenizer.resolved }, CALIBRATION_LIMITS);
  return { sequences: loaded.sequences, source: text.dataset.written };
}
