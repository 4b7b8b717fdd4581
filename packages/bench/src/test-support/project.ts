/** A throwaway project directory with real model files, a tokenizer and an eval set. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TINY_DECODER, decoderModel, saveModel } from "./models.js";

/** A character-level BPE tokenizer.json (no merges) whose ids stay below TINY_DECODER.vocab. */
export function characterTokenizer(): object {
  const vocab: Record<string, number> = { "<unk>": 0 };
  for (const c of "abcdefghijklmnopqrstuvwxyz .,") vocab[c] = Object.keys(vocab).length;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{ id: 0, content: "<unk>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: { type: "Lowercase" },
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: [] },
  };
}

export const EVAL_TEXTS = [
  "once upon a time there was a small robot.",
  "the robot liked to count the stars at night, one by one.",
  "a cat sat on the warm mat and watched the rain.",
  "every morning the baker made bread for the town.",
];

export interface DecoderProject {
  readonly dir: string;
  readonly source: string;
  readonly noisy: string;
  readonly tokenizer: string;
  readonly dataset: string;
  cleanup(): Promise<void>;
}

export async function decoderProject(): Promise<DecoderProject> {
  const dir = await mkdtemp(join(tmpdir(), "slmops-bench-"));
  const source = await saveModel(join(dir, "fp32"), "model.onnx", decoderModel(TINY_DECODER));
  const noisy = await saveModel(join(dir, "noisy"), "model.onnx", decoderModel(TINY_DECODER, 0.3));
  const tokenizer = join(dir, "tokenizer.json");
  await writeFile(tokenizer, JSON.stringify(characterTokenizer()));
  const dataset = join(dir, "eval.jsonl");
  await writeFile(dataset, EVAL_TEXTS.map((text) => JSON.stringify({ text })).join("\n") + "\n");
  return { dir, source, noisy, tokenizer, dataset, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
