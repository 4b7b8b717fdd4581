/**
 * The eval set, the tokenizer and bench reports are untrusted files: a FIFO
 * must not hang the read, a huge (sparse) file must be refused from its size
 * without being read, and a file that cannot be used stops the benchmark
 * with a ConfigurationError that says where, instead of a note in a report.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnreadableFileError } from "@slmops/contained-fs";
import { isConfigurationError } from "@slmops/diagnostics";
import { loadEval } from "./eval-set.js";
import { readReport, runBenchmark } from "./index.js";
import type { BenchSettings } from "./index.js";
import { characterTokenizer, decoderProject, type DecoderProject } from "./test-support/project.js";

const LIMITS = { maxSequences: 8, maxSequenceTokens: 16 };
const QUICK: BenchSettings = { warmup: 0, minIterations: 1, minDurationMs: 0, promptTokens: 4, generateTokens: 1, timeoutMs: 60_000 };

let dir: string;
let project: DecoderProject;
let dataset: string;
let tokenizer: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-eval-input-"));
  project = await decoderProject();
  dataset = project.dataset;
  tokenizer = project.tokenizer;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await project.cleanup();
});

function fifo(name: string): string {
  const path = join(dir, name);
  execFileSync("mkfifo", [path]);
  return path;
}

/** A file of `bytes` zeros that occupies no disk: reading it whole would cost `bytes` of memory. */
async function sparse(name: string, bytes: number): Promise<string> {
  const path = join(dir, name);
  const handle = await open(path, "w");
  await handle.truncate(bytes);
  await handle.close();
  return path;
}

const SPARSE_BYTES = 1900 * 1024 * 1024;

async function refusal(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!error) throw new Error("expected a refusal");
  expect(isConfigurationError(error)).toBe(true);
  return error;
}

describe("eval set and tokenizer files", () => {
  it.each(["dataset", "tokenizer"] as const)("a %s that is a named pipe is refused without blocking", async (which) => {
    const pipe = fifo(`${which}.pipe`);
    const error = await refusal(loadEval(which === "dataset" ? { dataset: pipe, tokenizer } : { dataset, tokenizer: pipe }, LIMITS));
    expect(error).toBeInstanceOf(UnreadableFileError);
    expect((error as UnreadableFileError).reason).toBe("not-a-file");
    expect(error.message).toContain(pipe);
  });

  it.each(["dataset", "tokenizer"] as const)("a 1.9 GB sparse %s is refused from its size, without reading it", async (which) => {
    const big = await sparse(`${which}.big`, SPARSE_BYTES);
    const before = process.memoryUsage.rss();
    const error = await refusal(loadEval(which === "dataset" ? { dataset: big, tokenizer } : { dataset, tokenizer: big }, LIMITS));
    expect((error as UnreadableFileError).reason).toBe("too-large");
    expect(error.message).toMatch(/is 1\.86GiB, more than the 64MiB accepted/u);
    // Reading it whole first would have cost its size in memory.
    expect(process.memoryUsage.rss() - before).toBeLessThan(256 * 1024 * 1024);
  });

  it("invalid UTF-8 in the dataset is reported at its line and column", async () => {
    const bad = join(dir, "bad-utf8.jsonl");
    await writeFile(bad, Buffer.concat([Buffer.from('{"text": "fine"}\n{"text": "ab'), Buffer.from([0xff]), Buffer.from('"}\n')]));
    const error = await refusal(loadEval({ dataset: bad, tokenizer }, LIMITS));
    expect(error.message).toBe(`${bad}:2:13: error: the eval dataset is not UTF-8 text (is it a binary file?)\n  hint: save it as UTF-8`);
  });

  it.each([
    ["invalid UTF-8", Buffer.from([0x7b, 0x0a, 0xc3, 0x28, 0x7d]), /tok\.json:2:1: error: the tokenizer is not UTF-8 text/u],
    ["a JSON list", Buffer.from("[1, 2]"), /tok\.json: error: not a usable Hugging Face tokenizer\.json \(expected a JSON object\)/u],
    ["random bytes", Buffer.from("\u0001\u0002garbage"), /tok\.json: error: not a usable Hugging Face tokenizer\.json/u],
  ])("a tokenizer that is %s names the tokenizer file", async (_name, bytes, message) => {
    const bad = join(dir, "tok.json");
    await writeFile(bad, bytes);
    expect((await refusal(loadEval({ dataset, tokenizer: bad }, LIMITS))).message).toMatch(message);
  });
});

describe("a benchmark whose eval set or tokenizer is unusable fails, saying where", () => {
  const bench = (evalSource: { dataset: string; tokenizer: string }) =>
    runBenchmark({
      device: { id: "ci-box", intraOpThreads: 1 },
      settings: QUICK,
      models: [{ id: "tiny", source: project.source, kind: "decoder", eval: evalSource, variants: [{ id: "fp32", path: project.source }] }],
      referenceDir: join(dir, "references"),
    });

  it("garbage in the dataset: file:line:col", async () => {
    const bad = join(dir, "garbage.jsonl");
    await writeFile(bad, '{"text": "fine"}\nnot json at all\n');
    const error = await refusal(bench({ dataset: bad, tokenizer }));
    expect(error.message).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/gu, "\\$&")}:2:1: error: not valid JSON`, "u"));
  });

  it("token ids outside the model's vocabulary: names the eval set and the tokenizer", { timeout: 120_000 }, async () => {
    // Every character gets an id past the tiny model's 64-token vocabulary.
    const wide = characterTokenizer() as { model: { vocab: Record<string, number> } };
    wide.model.vocab = Object.fromEntries(Object.entries(wide.model.vocab).map(([k, v]) => [k, v === 0 ? 0 : v + 100]));
    const wideTokenizer = join(dir, "wide-tokenizer.json");
    await writeFile(wideTokenizer, JSON.stringify(wide));
    const error = await refusal(bench({ dataset, tokenizer: wideTokenizer }));
    expect(error.message).toContain(wideTokenizer);
    expect(error.message).toContain(dataset);
    expect(error.message).toMatch(/token id \d+ is outside the model's vocabulary of 64; is the tokenizer the model's\?/u);
  });
});

describe("bench reports", () => {
  it("a report that is a named pipe is refused without blocking", async () => {
    const error = await refusal(readReport(fifo("report.pipe")));
    expect((error as UnreadableFileError).reason).toBe("not-a-file");
  });

  it("a 1.9 GB sparse report is refused from its size, without reading it", async () => {
    const big = await sparse("report.big", SPARSE_BYTES);
    const before = process.memoryUsage.rss();
    const error = await refusal(readReport(big));
    expect(error.message).toMatch(/the bench report .* is 1\.86GiB, more than the 256MiB accepted/u);
    expect(process.memoryUsage.rss() - before).toBeLessThan(256 * 1024 * 1024);
  });

  it("a report that is not UTF-8 is refused as damaged", async () => {
    const bad = join(dir, "report.json");
    await writeFile(bad, Buffer.from([0x7b, 0xff, 0x7d]));
    expect((await refusal(readReport(bad))).message).toMatch(/not valid JSON .*damaged or not a bench report/u);
  });
});
