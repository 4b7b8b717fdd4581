/**
 * A byte-level BPE tokenizer (the GPT-2 / Llama 3 family) trained
 * deterministically on the maker's synthetic corpus and written in the
 * Hugging Face `tokenizer.json` format.
 *
 * Ids: 0 `<|begin_of_text|>`, 1 `<|end_of_text|>`, then the 256 byte tokens in
 * byte order, then the learned merges in the order they were learned, then
 * unused `<|reserved_N|>` entries up to the model's vocabulary size (as Llama 3
 * reserves ids), so every id the model can emit has a token.
 */
import { ConfigurationError } from "@slmops/diagnostics";
import { MIN_VOCAB } from "./config.js";

export const BOS_TOKEN = "<|begin_of_text|>";
export const EOS_TOKEN = "<|end_of_text|>";
/** The special tokens' ids: first in the vocabulary. */
export const BOS_ID = 0;
export const EOS_ID = 1;
const SPECIAL_TOKENS = [BOS_TOKEN, EOS_TOKEN] as const;

/** The GPT-2 pre-tokenization pattern, as the ByteLevel pre-tokenizer applies it. */
const PRETOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's reversible map from bytes to printable characters. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map = new Array<string>(256);
  for (const b of printable) map[b] = String.fromCharCode(b);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (map[b] === undefined) map[b] = String.fromCharCode(256 + next++);
  }
  return map;
})();

/** A trained tokenizer: its tokens by id and its merges in rank order. */
export interface TrainedTokenizer {
  /** Token text (byte-level alphabet) of every id, `tokens.length === vocab`. */
  readonly tokens: readonly string[];
  /** Merges as pairs of token texts, highest priority first. */
  readonly merges: readonly (readonly [string, string])[];
  /** Ids of `<|begin_of_text|>` and `<|end_of_text|>`. */
  readonly bosId: number;
  readonly eosId: number;
  /** Ids that are reserved filler, never produced by encoding. */
  readonly reservedFrom: number;
}

const encoder = new TextEncoder();

function toByteLevel(piece: string): string {
  let out = "";
  for (const byte of encoder.encode(piece)) out += BYTE_TO_CHAR[byte];
  return out;
}

/**
 * Learns up to `vocab - 258` merges from `texts`: at each step the most
 * frequent adjacent pair (ties broken by the lower ids, so the result is
 * deterministic) that occurs at least twice.
 */
export function trainByteLevelBpe(texts: readonly string[], vocab: number): TrainedTokenizer {
  if (!Number.isInteger(vocab) || vocab < MIN_VOCAB) {
    throw new ConfigurationError(`the vocabulary must hold at least ${MIN_VOCAB} tokens (2 special + 256 bytes), got ${vocab}`);
  }
  const tokens: string[] = [...SPECIAL_TOKENS, ...BYTE_TO_CHAR];
  const idOf = new Map<string, number>(tokens.map((t, i) => [t, i]));

  // Unique pre-tokenized words with their frequencies.
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const piece of text.match(PRETOKENIZE) ?? []) counts.set(piece, (counts.get(piece) ?? 0) + 1);
  }
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [piece, freq] of counts) {
    words.push(Array.from(toByteLevel(piece), (ch) => idOf.get(ch) ?? -1));
    freqs.push(freq);
  }

  // Pair counts, and which words hold each pair, updated only for the words a merge touches.
  const SHIFT = 2 ** 20;
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const account = (w: number, sign: 1 | -1): void => {
    const word = words[w] as number[];
    const freq = (freqs[w] as number) * sign;
    for (let i = 0; i + 1 < word.length; i++) {
      const key = (word[i] as number) * SHIFT + (word[i + 1] as number);
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + freq);
      if (sign > 0) {
        let holders = pairWords.get(key);
        if (!holders) pairWords.set(key, (holders = new Set()));
        holders.add(w);
      }
    }
  };
  for (let w = 0; w < words.length; w++) account(w, 1);

  const merges: [string, string][] = [];
  while (tokens.length < vocab) {
    let bestKey = -1;
    let bestCount = 1;
    for (const [key, count] of pairCounts) {
      if (count > bestCount || (count === bestCount && bestKey >= 0 && key < bestKey)) {
        bestKey = key;
        bestCount = count;
      }
    }
    if (bestKey < 0) break;
    const left = Math.floor(bestKey / SHIFT);
    const right = bestKey % SHIFT;
    const leftText = tokens[left] as string;
    const rightText = tokens[right] as string;
    const merged = tokens.length;
    tokens.push(leftText + rightText);
    merges.push([leftText, rightText]);
    for (const w of [...(pairWords.get(bestKey) ?? [])].sort((a, b) => a - b)) {
      const word = words[w] as number[];
      account(w, -1);
      for (let i = 0; i + 1 < word.length; i++) {
        if (word[i] === left && word[i + 1] === right) word.splice(i, 2, merged);
      }
      account(w, 1);
    }
    pairCounts.delete(bestKey);
    pairWords.delete(bestKey);
  }
  const reservedFrom = tokens.length;
  for (let n = 0; tokens.length < vocab; n++) tokens.push(`<|reserved_${n}|>`);
  return { tokens, merges, bosId: BOS_ID, eosId: EOS_ID, reservedFrom };
}

/** `tokenizer.json` text (Hugging Face tokenizers format), deterministic byte for byte. */
export function tokenizerJson(trained: TrainedTokenizer): string {
  const added = SPECIAL_TOKENS.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const document = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: BOS_TOKEN, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: BOS_TOKEN, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: BOS_TOKEN, type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { [BOS_TOKEN]: { id: BOS_TOKEN, ids: [trained.bosId], tokens: [BOS_TOKEN] } },
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: "\u0000VOCAB\u0000",
      merges: trained.merges,
    },
  };
  // Written by hand so entries keep id order (an object would move digit-like keys first).
  const vocab =
    "{\n" + trained.tokens.map((token, id) => `      ${JSON.stringify(token)}: ${id}`).join(",\n") + "\n    }";
  return JSON.stringify(document, null, 2).replace(JSON.stringify("\u0000VOCAB\u0000"), vocab) + "\n";
}

/** `tokenizer_config.json` text, the companion file transformers libraries read. */
export function tokenizerConfigJson(context: number): string {
  const config = {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: BOS_TOKEN,
    eos_token: EOS_TOKEN,
    clean_up_tokenization_spaces: false,
    model_max_length: context,
    tokenizer_class: "PreTrainedTokenizerFast",
  };
  return JSON.stringify(config, null, 2) + "\n";
}
