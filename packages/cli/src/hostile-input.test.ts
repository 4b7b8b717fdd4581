/**
 * Input the commands must refuse quickly and clearly, through the real CLI:
 * a manifest (or the files it names) that is a FIFO must not hang
 * `validate`, `optimize` or `bench`; an unusable eval set or tokenizer fails
 * `bench`, saying where; flags that can never work are refused up front.
 */
import { execFileSync } from "node:child_process";
import { cpSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BENCH_COUNT_BOUNDS } from "@slmops/manifest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasStackTrace, repoRoot, runCli, type CliRun } from "./test-support/run-cli.js";

const EXAMPLE = join(repoRoot, "examples", "story-lm");
const QUICK = ["--warmup", "0", "--min-iterations", "1", "--min-duration", "1ms", "--prompt-tokens", "4", "--generate-tokens", "1"];

/** A fresh copy of the example project, with its int8 variant "built" as a copy of the source (enough for bench to start). */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), "cli-hostile-"));
  cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !src.includes(".slmops") && !src.includes("/out") });
  mkdirSync(join(dir, ".slmops/variants/story-lm/int8"), { recursive: true });
  copyFileSync(join(dir, "models/story-lm/model.onnx"), join(dir, ".slmops/variants/story-lm/int8/model.onnx"));
  return dir;
}

function fifo(path: string): void {
  rmSync(path, { force: true });
  execFileSync("mkfifo", [path]);
}

/** The run ended by itself (was not killed by the test runner's timeout) with a failure and no stack trace. */
function refused(r: CliRun, status = 1): string {
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(status);
  expect(hasStackTrace(r.stderr)).toBe(false);
  return `${r.stdout}\n${r.stderr}`;
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const fresh = (): string => {
  const dir = project();
  dirs.push(dir);
  return dir;
};

describe("a manifest that is a named pipe", () => {
  let dir: string;
  beforeAll(() => {
    dir = fresh();
    fifo(join(dir, "pipe.yaml"));
  });

  it.each([
    ["validate", ["validate", "pipe.yaml"]],
    ["optimize", ["optimize", "--manifest", "pipe.yaml"]],
    ["bench", ["bench", "--manifest", "pipe.yaml", ...QUICK]],
    ["gate", ["gate", "reports", "--manifest", "pipe.yaml"]],
  ])("%s ends at once with a clear error", (_command, args) => {
    expect(refused(runCli(args, { cwd: dir }))).toContain("pipe.yaml is a named pipe, not a regular file");
  });

  it.each([
    ["validate", ["validate"]],
    ["optimize", ["optimize"]],
    ["bench", ["bench", ...QUICK]],
    ["validate (the directory given)", ["validate", "."]],
  ])("%s, when slmops.yaml itself is one, ends at once with a clear error", (_command, args) => {
    const pipeDir = mkdtempSync(join(tmpdir(), "cli-pipe-manifest-"));
    dirs.push(pipeDir);
    fifo(join(pipeDir, "slmops.yaml"));
    expect(refused(runCli(args, { cwd: pipeDir }))).toContain("slmops.yaml is a named pipe, not a regular file");
  });
});

describe("bench with an eval set or tokenizer that cannot be used", { timeout: 120_000 }, () => {
  it.each([
    ["the eval set", "data/eval.jsonl", 16],
    ["the tokenizer", "models/story-lm/tokenizer.json", 18],
  ])("%s being a named pipe is refused at its line in the manifest", (_what, path, column) => {
    const dir = fresh();
    fifo(join(dir, path));
    const out = refused(runCli(["bench", "--variant", "int8", ...QUICK], { cwd: dir }));
    expect(out).toMatch(new RegExp(`slmops\\.yaml:\\d+:${column}: error: .*\`${path.replace(/\./gu, "\\.")}\` of model \`story-lm\` is a named pipe, not a regular file`, "u"));
  });

  it("garbage in the eval set fails at its file:line:col, not with a note", () => {
    const dir = fresh();
    writeFileSync(join(dir, "data/eval.jsonl"), '{"text": "once upon a time"}\n\u0000\u0001 garbage\n');
    const out = refused(runCli(["bench", "--variant", "int8", ...QUICK], { cwd: dir }));
    expect(out).toMatch(/data\/eval\.jsonl:2:1: error: not valid JSON/u);
  });

  it("invalid UTF-8 in the eval set fails at the byte's line and column", () => {
    const dir = fresh();
    writeFileSync(join(dir, "data/eval.jsonl"), Buffer.concat([Buffer.from('{"text": "one"}\n{"text": "tw'), Buffer.from([0xfe]), Buffer.from('o"}\n')]));
    const out = refused(runCli(["bench", "--variant", "int8", ...QUICK], { cwd: dir }));
    expect(out).toMatch(/data\/eval\.jsonl:2:13: error: the eval dataset is not UTF-8 text/u);
  });

  it("a tokenizer that is not one fails naming the tokenizer file", () => {
    const dir = fresh();
    writeFileSync(join(dir, "models/story-lm/tokenizer.json"), "[1, 2, 3]\n");
    const out = refused(runCli(["bench", "--variant", "int8", ...QUICK], { cwd: dir }));
    expect(out).toMatch(/models\/story-lm\/tokenizer\.json: error: not a usable Hugging Face tokenizer\.json/u);
  });
});

describe("bench flags that can never work", () => {
  let dir: string;
  beforeAll(() => {
    dir = fresh();
  });

  it("--prompt-tokens past the manifest's own bound is refused before anything runs", () => {
    const { maximum } = BENCH_COUNT_BOUNDS["prompt-tokens"];
    const out = refused(runCli(["bench", "--prompt-tokens", "99999999999"], { cwd: dir }), 2);
    expect(out).toContain(`Option \`--prompt-tokens\` must be a positive whole number, at most ${maximum}; got \`99999999999\`.`);
    expect(out).not.toContain("benchmarking");
  });

  it.each([
    ["--min-iterations", "-5", "a positive whole number"],
    ["--warmup", "-1", "a whole number of at least 0"],
    ["--prompt-tokens", "-0.5", "a positive whole number"],
  ])("%s %s says which values it takes, not that it needs a value", (flag, value, what) => {
    const out = refused(runCli(["bench", flag, value], { cwd: dir }), 2);
    expect(out).toContain(`Option \`${flag}\` must be ${what}`);
    expect(out).toContain(`got \`${value}\``);
    expect(out).not.toContain("needs a value");
  });

  it("a negative duration is the duration's error", () => {
    const out = refused(runCli(["bench", "--min-duration", "-1s"], { cwd: dir }), 2);
    expect(out).toContain("Option `--min-duration` must be a duration");
  });
});
