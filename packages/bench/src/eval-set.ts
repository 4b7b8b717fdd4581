/**
 * The eval set: a JSON Lines file of `{"text": "..."}` objects, tokenized with
 * the model's `tokenizer.json`. Both are untrusted input, read with bounds;
 * a mistake is reported as `file:line:col` with how to fix it.
 */
import { readFile } from "node:fs/promises";
import { Tokenizer } from "@huggingface/tokenizers";
import { ConfigurationError } from "@slmops/diagnostics";
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

async function readBounded(path: string, limit: number, what: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new ConfigurationError(`cannot read the ${what} ${path}: ${(cause as Error).message}`, { cause });
  }
  if (bytes.length > limit) throw new ConfigurationError(`${path}: the ${what} is larger than ${limit} bytes; use a smaller file`);
  return bytes;
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
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(JSON.parse(tokenizerBytes.toString("utf8")) as object, {});
  } catch (cause) {
    throw new ConfigurationError(`${source.tokenizer}: not a usable Hugging Face tokenizer.json (${(cause as Error).message})`, { cause });
  }
  const texts = parseEvalLines(datasetBytes.toString("utf8"), source.dataset, limits.maxSequences);
  const sequences = texts.map((text) => tokenizer.encode(text).ids.slice(0, limits.maxSequenceTokens));
  return {
    sha256: sha256(datasetBytes),
    tokenizerSha256: sha256(tokenizerBytes),
    sequences,
    tokens: sequences.reduce((sum, s) => sum + s.length, 0),
  };
}
