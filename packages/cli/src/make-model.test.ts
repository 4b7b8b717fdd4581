import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mountTmpfs } from "@slmops/atomic-file/testing";
import { createSession, tensor } from "@slmops/runtime";
import { describe, expect, it } from "vitest";
import type { MakeModelJson } from "./commands/make-model.js";
import { hasStackTrace, runCli } from "./test-support/run-cli.js";

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

function makeModel(args: readonly string[], cwd = tempDir("cli-make-model-")): { cwd: string; json: MakeModelJson } {
  const r = runCli(["make-model", ...args, "--json"], { cwd });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return { cwd, json: JSON.parse(r.stdout) as MakeModelJson };
}

describe("slmops make-model (real files, real process, real ONNX Runtime)", { timeout: 120_000 }, () => {
  it("writes a project whose model loads and runs in ONNX Runtime, and --json describes the files on disk", async () => {
    const { cwd, json } = makeModel(["--preset", "nano", "--layers", "2", "--untied", "--seed", "7", "--out", "proj"]);
    expect(json.out).toBe("proj");
    expect(json.preset).toBe("nano");
    expect(json.config).toMatchObject({ layers: 2, hidden: 64, heads: 4, kvHeads: 2, vocab: 1024, tied: false, seed: 7 });
    // nano with 2 layers and its own LM head: embedding + head + 2 blocks + final norm.
    const d = 64;
    const block = d * d * 2 + d * 32 * 2 + 3 * d * 176 + 2 * d;
    expect(json.parameters).toBe(1024 * d * 2 + 2 * block + d);
    expect(json.files.map((f) => f.kind)).toEqual(["model", "tokenizer", "tokenizerConfig", "eval", "config"]);
    expect(readdirSync(join(cwd, "proj")).sort()).toEqual(["config.json", "eval.jsonl", "model.onnx", "tokenizer.json", "tokenizer_config.json"]);
    for (const file of json.files) {
      const path = join(cwd, file.path);
      expect(statSync(path).size, file.path).toBe(file.bytes);
      expect(sha256(path), file.path).toBe(file.sha256);
    }
    const config = JSON.parse(readFileSync(join(cwd, "proj", "config.json"), "utf8")) as Record<string, unknown>;
    expect(config).toMatchObject({ num_hidden_layers: 2, tie_word_embeddings: false, vocab_size: 1024, slmops: { seed: 7, preset: "nano" } });
    const lines = readFileSync(join(cwd, "proj", "eval.jsonl"), "utf8").trim().split("\n");
    expect(lines).toHaveLength(64);
    for (const line of lines) expect(typeof (JSON.parse(line) as { text: unknown }).text).toBe("string");

    const session = await createSession(join(cwd, "proj", "model.onnx"));
    try {
      expect(session.inputNames).toEqual(["input_ids", "attention_mask", "position_ids", "past_key_values.0.key", "past_key_values.0.value", "past_key_values.1.key", "past_key_values.1.value"]);
      const empty = tensor("float32", new Float32Array(0), [1, 2, 0, 16]);
      const out = await session.run({
        input_ids: tensor("int64", BigInt64Array.from([0n, 300n, 301n]), [1, 3]),
        attention_mask: tensor("int64", BigInt64Array.from([1n, 1n, 1n]), [1, 3]),
        position_ids: tensor("int64", BigInt64Array.from([0n, 1n, 2n]), [1, 3]),
        "past_key_values.0.key": empty,
        "past_key_values.0.value": empty,
        "past_key_values.1.key": empty,
        "past_key_values.1.value": empty,
      });
      expect(out.logits?.dims).toEqual([1, 3, 1024]);
      expect(out["present.1.value"]?.dims).toEqual([1, 2, 3, 16]);
      const logits = out.logits?.data as Float32Array;
      expect(logits.every((x) => Number.isFinite(x))).toBe(true);
      expect(new Set(logits).size).toBeGreaterThan(1000);
    } finally {
      await session.release();
    }
  });

  it("is deterministic: the same flags give the same sha256 for every file, another seed another model", () => {
    const a = makeModel(["--preset", "nano", "--out", "a"]).json;
    const b = makeModel(["--preset", "nano", "--out", "b"]).json;
    const c = makeModel(["--preset", "nano", "--seed", "99", "--out", "c"]).json;
    expect(b.files.map((f) => [f.kind, f.sha256, f.bytes])).toEqual(a.files.map((f) => [f.kind, f.sha256, f.bytes]));
    expect(c.files.find((f) => f.kind === "model")?.sha256).not.toBe(a.files.find((f) => f.kind === "model")?.sha256);
  });

  it("makes the example project's files byte for byte from the settings its config.json records", () => {
    const example = join(import.meta.dirname, "..", "..", "..", "examples", "story-lm");
    const config = JSON.parse(readFileSync(join(example, "models", "story-lm", "config.json"), "utf8")) as {
      tie_word_embeddings: boolean;
      slmops: { preset: string; seed: number; fit?: string };
    };
    const flags = ["--preset", config.slmops.preset, "--seed", String(config.slmops.seed), config.tie_word_embeddings ? "--tied" : "--untied"];
    if (config.slmops.fit !== undefined) flags.push("--fit", config.slmops.fit);
    const { json } = makeModel([...flags, "--out", "m"]);
    const made = (kind: string) => json.files.find((f) => f.kind === kind)?.sha256;
    expect(made("model")).toBe(sha256(join(example, "models", "story-lm", "model.onnx")));
    expect(made("tokenizer")).toBe(sha256(join(example, "models", "story-lm", "tokenizer.json")));
    expect(made("config")).toBe(sha256(join(example, "models", "story-lm", "config.json")));
    expect(made("eval")).toBe(sha256(join(example, "data", "eval.jsonl")));
  });

  it("prints the parameter count and each file without --json, and plain progress lines on stderr when not a terminal", () => {
    const cwd = tempDir("cli-make-model-");
    const r = runCli(["make-model", "--preset", "nano", "--out", "m"], { cwd });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^✓ m: 250,432 parameters \(preset nano; layers 4, hidden 64, heads 4\/2, vocab 1024, tied, seed 1234\)\n/);
    expect(r.stdout).toMatch(/^ {2}m\/model\.onnx +1\.25MiB {2}sha256 [0-9a-f]{16}$/m);
    expect(r.stderr.split("\n").filter(Boolean)).toEqual(["making weights…", "encoding model.onnx…", "training the tokenizer…", "writing the eval set…", "writing files…"]);
    expect(r.stderr).not.toContain("\r");
  });

  it("lists the presets with their parameter counts in --help", () => {
    const r = runCli(["make-model", "--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}nano +250,432 parameters/m);
    expect(r.stdout).toMatch(/^ {2}large +100,092,672 parameters/m);
  });

  it("refuses bad flags with one clear message and no stack trace", () => {
    const cwd = tempDir("cli-make-model-");
    const cases: [string[], number, RegExp][] = [
      [["--preset", "nanno", "--out", "x"], 2, /Unknown preset `nanno`\.\n {2}hint: did you mean `--preset nano`\?/],
      [["--layers", "two", "--out", "x"], 2, /^error: --layers must be a number, got `two`/],
      [["--seed", "1.5", "--out", "x"], 2, /^error: --seed must be a whole number, got `1\.5`/],
      [["--preset", "nano"], 2, /Option `--out` is required/],
      [["--tied", "--untied", "--out", "x"], 2, /`--tied` and `--untied` contradict each other/],
      [["--hiden", "64", "--out", "x"], 2, /Unknown option `--hiden`.*\n {2}hint: did you mean `--hidden`\?/],
      [["--hidden", "100", "--heads", "3", "--out", "x"], 1, /^error: --hidden \(100\) must be a multiple of --heads \(3\)/],
      [["--vocab", "100", "--out", "x"], 1, /^error: --vocab must be between 258 and 262144, got 100/],
    ];
    for (const [args, status, message] of cases) {
      const r = runCli(["make-model", ...args], { cwd });
      expect(r.status, args.join(" ")).toBe(status);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(hasStackTrace(r.stderr)).toBe(false);
      expect(r.stdout).toBe("");
    }
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe("slmops make-model when the machine refuses the write", { timeout: 120_000 }, () => {
  const refused = (args: readonly string[], cwd: string) => {
    const r = runCli(["make-model", "--preset", "nano", ...args], { cwd });
    expect(r.status).toBe(1);
    expect(r.stderr).not.toContain("internal error");
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(r.stdout).toBe("");
    return r.stderr.slice(r.stderr.indexOf("error:"));
  };

  it("--out /dev/null: a file where the directory should be", () => {
    expect(refused(["--out", "/dev/null"], tempDir("cli-make-model-"))).toBe(
      "error: cannot create the directory /dev/null (--out /dev/null): it exists and is not a directory (EEXIST)\n" +
        "  hint: pass another --out: a directory, or a path that does not exist yet\n",
    );
  });

  it("--out under a regular file (ENOTDIR)", () => {
    const cwd = tempDir("cli-make-model-");
    writeFileSync(join(cwd, "file"), "x");
    expect(refused(["--out", "file/proj"], cwd)).toBe(
      "error: cannot create the directory file/proj (--out file/proj): a part of the path is a file, not a directory (ENOTDIR)\n" +
        "  hint: pass another --out whose parents are all directories\n",
    );
  });

  it("a full file system (ENOSPC) and a read-only one (EROFS)", (context) => {
    const full = mountTmpfs({ size: "64k", full: true });
    if ("skip" in full) return context.skip(full.skip);
    const readOnly = mountTmpfs({ size: "64k", readOnly: true });
    try {
      expect(refused(["--out", "proj"], full.dir)).toBe(
        "error: cannot write proj/model.onnx (--out proj): no space left on the device (ENOSPC)\n  hint: free disk space, or pass another --out on another file system\n",
      );
      if ("skip" in readOnly) return context.skip(readOnly.skip);
      expect(refused(["--out", join(readOnly.dir, "proj")], tmpdir())).toBe(
        `error: cannot create the directory ${join(readOnly.dir, "proj")} (--out ${join(readOnly.dir, "proj")}): the file system is read-only (EROFS)\n` +
          "  hint: pass another --out on a writable file system\n",
      );
    } finally {
      full.unmount();
      if (!("skip" in readOnly)) readOnly.unmount();
    }
  });

  it("writes the exporters' layouts: Optimum's merged decoder with external data, GenAI's with genai_config.json", async () => {
    const merged = makeModel(["--preset", "nano", "--layers", "2", "--graph-layout", "optimum-merged", "--out", "merged"]);
    expect(merged.json.files.map((f) => f.kind)).toEqual(["model", "modelData", "tokenizer", "tokenizerConfig", "eval", "config"]);
    expect(readdirSync(join(merged.cwd, "merged")).filter((f) => f.startsWith("decoder"))).toEqual(["decoder_model_merged.onnx", "decoder_model_merged.onnx_data"]);
    for (const file of merged.json.files) expect(sha256(join(merged.cwd, file.path)), file.path).toBe(file.sha256);
    const session = await createSession(join(merged.cwd, "merged", "decoder_model_merged.onnx"));
    try {
      expect(session.inputNames.at(-1)).toBe("use_cache_branch");
    } finally {
      await session.release();
    }
    const genai = makeModel(["--preset", "nano", "--graph-layout", "genai", "--out", "genai"]);
    expect(genai.json.files.map((f) => f.kind)).toEqual(["model", "genaiConfig", "tokenizer", "tokenizerConfig", "eval", "config"]);
    const config = JSON.parse(readFileSync(join(genai.cwd, "genai", "genai_config.json"), "utf8")) as { model: { decoder: { filename: string; num_hidden_layers: number } } };
    expect(config.model.decoder).toMatchObject({ filename: "model.onnx", num_hidden_layers: 4 });

    const wrong = runCli(["make-model", "--graph-layout", "genia", "--out", "x"], { cwd: tempDir("cli-make-model-") });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/Unknown graph layout `genia`[\s\S]*did you mean `--graph-layout genai`\?/);
  });

});
