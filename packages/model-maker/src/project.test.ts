import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";
import { ConfigurationError } from "@slmops/diagnostics";
import { createSession } from "@slmops/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRESETS } from "./config.js";
import type { Progress } from "./model.js";
import {
  DEFAULT_LAYOUT,
  configJson,
  parseConfigJson,
  remakeFromConfigFile,
  repositoryLayout,
  writeModelProject,
  type ProjectLayout,
  type WrittenProject,
} from "./project.js";
import { emptyCache, row, step } from "./test-support/decoder-run.js";

let dir: string;
let written: WrittenProject;
const progress: Progress[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-model-maker-"));
  written = await writeModelProject(join(dir, "a"), { preset: "nano", seed: 77 }, { onProgress: (p) => progress.push(p) });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const files = Object.keys(DEFAULT_LAYOUT) as (keyof ProjectLayout)[];

describe("writeModelProject", () => {
  it("writes the model, tokenizer, eval set and config into the directory", async () => {
    expect((await readdir(join(dir, "a"))).sort()).toEqual(["config.json", "eval.jsonl", "model.onnx", "tokenizer.json", "tokenizer_config.json"]);
    for (const key of files) {
      expect((await readFile(written.paths[key])).byteLength).toBe(written.bytes[key]);
    }
    expect(written.config).toEqual({ ...PRESETS.nano, seed: 77 });
    expect(written.parameters).toBe(250_432);
  });

  it("reports progress: each weight, then encoding, tokenizer, eval set and each file written", () => {
    const weights = progress.filter((p) => p.phase === "weights");
    expect(weights.map((p) => p.done)).toEqual(Array.from({ length: weights.length }, (_, i) => i + 1));
    expect(weights.at(-1)).toEqual({ phase: "weights", done: 3 + 9 * 4, total: 3 + 9 * 4 });
    expect(progress.map((p) => p.phase).filter((phase, i, all) => all[i - 1] !== phase)).toEqual([
      "weights",
      "encode",
      "tokenizer",
      "eval",
      "write",
    ]);
    expect(progress.at(-1)).toEqual({ phase: "write", done: 5, total: 5 });
  });

  it("writes byte-identical files for the same options, and a different model for another seed", async () => {
    const again = await writeModelProject(join(dir, "b"), { preset: "nano", seed: 77 });
    for (const key of files) {
      const first = await readFile(written.paths[key]);
      const second = await readFile(again.paths[key]);
      expect(first.equals(second), key).toBe(true);
    }
    const other = await writeModelProject(join(dir, "c"), { preset: "nano", seed: 78 });
    expect((await readFile(other.paths.model)).equals(await readFile(written.paths.model))).toBe(false);
    expect((await readFile(other.paths.eval)).equals(await readFile(written.paths.eval))).toBe(false);
  });

  it("places files where the layout says and refuses paths that leave the directory", async () => {
    const placed = await writeModelProject(join(dir, "repo"), { preset: "nano" }, { layout: repositoryLayout("story") });
    expect(existsSync(join(dir, "repo", "models", "story", "model.onnx"))).toBe(true);
    expect(existsSync(join(dir, "repo", "data", "eval.jsonl"))).toBe(true);
    expect(placed.paths.tokenizer).toBe(join(dir, "repo", "models", "story", "tokenizer.json"));

    await expect(writeModelProject(join(dir, "bad"), { preset: "nano" }, { layout: { eval: "../escape.jsonl" } })).rejects.toThrow(
      /the eval path `..\/escape.jsonl` must be a relative path inside the project directory/,
    );
    await expect(writeModelProject(join(dir, "bad"), { preset: "nano" }, { layout: { model: "/tmp/x.onnx" } })).rejects.toThrow(ConfigurationError);
    expect(existsSync(join(dir, "bad"))).toBe(false);
    expect(() => repositoryLayout("../up")).toThrow(ConfigurationError);
  });

  it("refuses a bad option before making anything", async () => {
    await expect(writeModelProject(join(dir, "bad2"), { preset: "nano", kvHeads: 3 })).rejects.toThrow(/--kv-heads \(3\) must divide --heads \(4\)/);
    expect(existsSync(join(dir, "bad2"))).toBe(false);
  });
});

describe("config.json", () => {
  it("reads back the exact configuration", async () => {
    expect(parseConfigJson(await readFile(written.paths.config, "utf8"))).toEqual(written.config);
    const untied = { ...PRESETS.small, tied: false, ropeTheta: 500000, rmsNormEps: 1e-6 };
    expect(parseConfigJson(configJson(untied))).toEqual(untied);
  });

  it("explains what is wrong with a config.json it cannot use", () => {
    expect(() => parseConfigJson("{", "models/x/config.json")).toThrow(/^models\/x\/config.json is not valid JSON/);
    const document = JSON.parse(configJson(PRESETS.nano)) as Record<string, unknown>;
    expect(() => parseConfigJson(JSON.stringify({ ...document, num_key_value_heads: 3 }), "c.json")).toThrow(
      /^c.json: --kv-heads \(3\) must divide --heads \(4\)/,
    );
    expect(() => parseConfigJson(JSON.stringify({ ...document, slmops: { format: "0" } }), "c.json")).toThrow(/maker format "0"/);
  });
});

describe("the project's files together", () => {
  it("tokenize the eval set into ids the model accepts, and the model scores it", async () => {
    const tokenizer = new Tokenizer(
      JSON.parse(await readFile(written.paths.tokenizer, "utf8")) as object,
      JSON.parse(await readFile(written.paths.tokenizerConfig, "utf8")) as object,
    );
    const session = await createSession(written.paths.model);
    try {
      const vocab = session.outputs[0]?.shape?.[2];
      expect(tokenizer.get_vocab(true).size).toBe(vocab);
      const lines = (await readFile(written.paths.eval, "utf8")).trimEnd().split("\n");
      expect(lines).toHaveLength(written.config.evalSamples);
      const text = (JSON.parse(lines[0] as string) as { text: string }).text;
      const ids: number[] = tokenizer.encode(text).ids;
      expect(ids.length).toBeGreaterThan(20);
      const { logits } = await step(session, [ids], [ids.map(() => 1)], [ids.map((_, i) => i)], emptyCache(written.config, 1));
      // Mean negative log-likelihood of each next token: finite, and a random model is no better than uniform-ish.
      let nll = 0;
      for (let s = 0; s + 1 < ids.length; s++) {
        const scores = row(logits, 0, s);
        const max = Math.max(...scores);
        let sum = 0;
        for (const v of scores) sum += Math.exp(v - max);
        nll += Math.log(sum) + max - (scores[ids[s + 1] as number] as number);
      }
      const perplexity = Math.exp(nll / (ids.length - 1));
      expect(Number.isFinite(perplexity)).toBe(true);
      expect(perplexity).toBeGreaterThan(100);
    } finally {
      await session.release();
    }
  });
});

describe("the example project's model files", () => {
  const example = fileURLToPath(new URL("../../../examples/story-lm/", import.meta.url));
  const layout = repositoryLayout("story-lm");

  it("are exactly what the maker writes from the recorded config.json", async () => {
    const remade = await remakeFromConfigFile(join(example, layout.config));
    expect(remade.config).toEqual({ ...PRESETS.nano, tied: false, fit: "bigram" });
    for (const key of files) {
      const committed = await readFile(join(example, layout[key]));
      expect(committed.equals(Buffer.from(remade.files[key])), `${layout[key]} differs; run \`pnpm --filter @slmops/model-maker make-example\``).toBe(true);
    }
  });

  it("keep the model small enough to commit", async () => {
    expect((await readFile(join(example, layout.model))).byteLength).toBeLessThan(2 * 1024 * 1024);
  });
});
