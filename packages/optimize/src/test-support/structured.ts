/**
 * Models with structured weights for int4 quality tests: the example
 * project's committed decoder and maker decoders fitted the same way
 * (`fit: bigram`, untied head), each with token sequences from its own eval
 * text and tokenizer.
 */
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { encodeModel } from "@slmops/onnx";
import {
  BOS_TOKEN,
  encodeText,
  makeModel,
  parseConfigJson,
  resolveConfig,
  stories,
  trainByteLevelBpe,
  trainingCorpus,
  type ModelConfig,
  type TrainedTokenizer,
} from "@slmops/model-maker";

/** A decoder on disk with eval token sequences for it. */
export interface StructuredDecoder {
  readonly label: string;
  readonly path: string;
  readonly config: ModelConfig;
  readonly sequences: number[][];
  /** Calibration token sequences from other text of the same kind (none of `sequences`). */
  readonly calibration: number[][];
}

/** The example project's directory in this repository. */
export const EXAMPLE_PROJECT = join(import.meta.dirname, "..", "..", "..", "..", "examples", "story-lm");

interface TokenizerJson {
  model: { vocab: Record<string, number>; merges: (string | [string, string])[] };
}

/** The BPE a maker `tokenizer.json` describes, in the form `encodeText` takes. */
function tokenizerFromJson(source: string): TrainedTokenizer {
  const json = JSON.parse(source) as TokenizerJson;
  const tokens: string[] = [];
  for (const [token, id] of Object.entries(json.model.vocab)) tokens[id] = token;
  const merges = json.model.merges.map((m) => (Array.isArray(m) ? m : (m.split(" ") as [string, string])));
  return { tokens, merges, bosId: tokens.indexOf(BOS_TOKEN), eosId: 1, reservedFrom: tokens.length };
}

function sequencesOf(tokenizer: TrainedTokenizer, texts: readonly string[], length: number): number[][] {
  return texts.map((text) => [tokenizer.bosId, ...encodeText(tokenizer, text)].slice(0, length));
}

/** The example project's committed model, with its first `count` eval lines as token sequences. */
export async function exampleDecoder(count: number, length: number): Promise<StructuredDecoder> {
  const modelDir = join(EXAMPLE_PROJECT, "models", "story-lm");
  const configPath = join(modelDir, "config.json");
  const config = parseConfigJson(await readFile(configPath, "utf8"), configPath);
  const tokenizer = tokenizerFromJson(await readFile(join(modelDir, "tokenizer.json"), "utf8"));
  const lines = (await readFile(join(EXAMPLE_PROJECT, "data", "eval.jsonl"), "utf8")).split("\n").filter((l) => l.trim() !== "");
  const texts = lines.slice(0, count).map((l) => (JSON.parse(l) as { text: string }).text);
  return {
    label: "example story-lm",
    path: join(modelDir, "model.onnx"),
    config,
    sequences: sequencesOf(tokenizer, texts, length),
    // The eval lines after the ones measured on.
    calibration: sequencesOf(tokenizer, lines.slice(count, 2 * count).map((l) => (JSON.parse(l) as { text: string }).text), length),
  };
}

/** A maker `nano` decoder fitted to its corpus (`fit: bigram`) for `seed`, written to `dir`. */
export async function fittedDecoder(dir: string, seed: number, count: number, length: number): Promise<StructuredDecoder> {
  const config = resolveConfig({ preset: "nano", seed, tied: false, fit: "bigram" });
  await mkdir(dir, { recursive: true });
  const path = join(dir, "model.onnx");
  await writeFile(path, encodeModel(makeModel(config)));
  const tokenizer = trainByteLevelBpe(trainingCorpus(seed), config.vocab);
  return {
    label: `nano seed ${seed}`,
    path,
    config,
    sequences: sequencesOf(tokenizer, stories(seed, "corpus/eval", count), length),
    calibration: sequencesOf(tokenizer, stories(seed, "corpus/calibration", count), length),
  };
}
