import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { createSession } from "@slmops/runtime";
import { loadManifestOrThrow } from "@slmops/manifest";
import { variantDigest } from "@slmops/variant-identity";
import { describe, expect, it } from "vitest";
import type { OptimizeJsonVariant } from "./commands/optimize.js";
import { binPath, hasStackTrace, repoRoot, runCli } from "./test-support/run-cli.js";

const EXAMPLE = join(repoRoot, "examples", "story-lm");
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
/** The identity digest of a variant that is one `model.onnx` file. */
const digestOf = (path: string) => variantDigest([{ name: "model.onnx", bytes: statSync(path).size, sha256: sha256(path) }]);

/** A temp copy of the example project: manifest, fp32 model, tokenizer and eval set. */
function exampleCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "cli-optimize-"));
  cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !src.includes(".slmops") });
  return dir;
}

/** The example's variants as the manifest lists them: id → pass names. */
async function exampleVariants(): Promise<Map<string, string[]>> {
  const { manifest } = await loadManifestOrThrow(join(EXAMPLE, "slmops.yaml"));
  const model = manifest.models[0];
  return new Map((model?.variants ?? []).map((v) => [v.id, v.passes.map((p) => p.kind as string)]));
}

function optimizeJson(cwd: string, args: readonly string[] = []): OptimizeJsonVariant[] {
  const r = runCli(["optimize", ...args, "--json"], { cwd });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as OptimizeJsonVariant[];
}

/**
 * Files under a directory as a reader of the variants sees them, recursively,
 * relative to it: the published names (links followed), not the hidden build
 * directories and markers behind them.
 */
function tree(dir: string, prefix = ""): string[] {
  if (!existsSync(dir)) return [];
  return visible(dir).flatMap((name) =>
    statSync(join(dir, name)).isDirectory() ? tree(join(dir, name), `${prefix}${name}/`) : [`${prefix}${name}`],
  );
}

function visible(dir: string): string[] {
  return readdirSync(dir).filter((name) => !name.startsWith(".")).sort();
}

describe("slmops optimize (real example project, real process, real ONNX Runtime)", { timeout: 180_000 }, () => {
  it("builds every variant of the example; --json lists each with its identity digest and the size and sha256 of the file on disk", async () => {
    const dir = exampleCopy();
    const variants = optimizeJson(dir);
    const expected = await exampleVariants();
    expect(variants.map((v) => v.variant)).toEqual([...expected.keys()]);
    const sourceBytes = statSync(join(dir, "models", "story-lm", "model.onnx")).size;
    for (const v of variants) {
      expect(v.model).toBe("story-lm");
      expect(v.path).toBe(`.slmops/variants/story-lm/${v.variant}/model.onnx`);
      const path = join(dir, v.path);
      expect(statSync(path).size, v.variant).toBe(v.bytes);
      expect(v.files).toEqual([{ name: "model.onnx", bytes: v.bytes, sha256: sha256(path) }]);
      expect(v.digest, v.variant).toBe(digestOf(path));
      expect(v.sourceBytes).toBe(sourceBytes);
      expect(v.bytes).toBeLessThan(sourceBytes);
      expect(v.passes.map((p) => p.options.name)).toEqual(expected.get(v.variant));
      for (const p of v.passes) expect(p.durationMs).toBeGreaterThanOrEqual(0);
      const session = await createSession(path);
      expect(session.outputNames[0]).toBe("logits");
      await session.release();
    }
    // int4 is the smallest; fp16 halves the weights (graph, norms kept in fp32 and the file's framing stay as they are).
    const bytes = Object.fromEntries(variants.map((v) => [v.variant, v.bytes]));
    expect(bytes.int4).toBeLessThan(bytes.int8 ?? 0);
    expect((bytes.fp16 ?? 0) / sourceBytes).toBeGreaterThan(0.45);
    expect((bytes.fp16 ?? 0) / sourceBytes).toBeLessThan(0.75);
    expect(tree(join(dir, ".slmops", "variants")).sort()).toEqual([...expected.keys()].map((id) => `story-lm/${id}/model.onnx`).sort());
  });

  it("builds only the variants the filters name, and prints the summary table", () => {
    const dir = exampleCopy();
    expect(optimizeJson(dir, ["--variant", "int8"]).map((v) => `${v.model}/${v.variant}`)).toEqual(["story-lm/int8"]);
    expect(optimizeJson(dir, ["--variant", "story-lm/fp16"]).map((v) => v.variant)).toEqual(["fp16"]);
    expect(tree(join(dir, ".slmops", "variants")).sort()).toEqual(["story-lm/fp16/model.onnx", "story-lm/int8/model.onnx"]);

    const r = runCli(["optimize", "--model", "story-lm", "--variant", "int4-rtn"], { cwd: dir });
    expect(r.status).toBe(0);
    const [header, row, total] = r.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^model +variant +passes +size +vs fp32 +digest +time$/);
    const digest = digestOf(join(dir, ".slmops", "variants", "story-lm", "int4-rtn", "model.onnx"));
    expect(row).toMatch(new RegExp(`^story-lm +int4-rtn +quantize +[\\d.]+KiB +0\\.\\d{3}× +${digest.slice(0, 12)} +[\\d.]+ s$`));
    expect(total).toBe("✓ 1 variant written to .slmops/variants");
    expect(r.stderr).toContain("[1/1] story-lm/int4-rtn: quantize(int4, block 32, zero points, rtn, accuracy int8 (default for cpu))");
    expect(r.stderr).not.toContain("\r");
  });

  it("writes to --out, from any working directory, with --manifest naming the file or its directory; a rebuild is identical", () => {
    const dir = exampleCopy();
    const out = mkdtempSync(join(tmpdir(), "cli-optimize-out-"));
    const elsewhere = mkdtempSync(join(tmpdir(), "cli-optimize-cwd-"));
    const variants = optimizeJson(elsewhere, ["--manifest", dir, "--variant", "int4", "--out", out]);
    expect(variants).toHaveLength(1);
    const [v] = variants;
    expect(isAbsolute(v?.path ?? "")).toBe(true);
    expect(v?.path).toBe(join(out, "story-lm", "int4", "model.onnx"));
    expect(digestOf(v?.path ?? "")).toBe(v?.digest);
    // Building again gives the same bytes (int4 with ONNX Runtime's graph optimization is deterministic too).
    const again = optimizeJson(elsewhere, ["--manifest", join(dir, "slmops.yaml"), "--variant", "int4", "--out", out]);
    expect(again[0]?.digest).toBe(v?.digest);
    expect(visible(join(out, "story-lm"))).toEqual(["int4"]);
    expect(existsSync(join(dir, ".slmops"))).toBe(false);
  });

  it("refuses an unknown model or variant as a usage error with a did-you-mean hint, building nothing", () => {
    const dir = exampleCopy();
    const cases: [string[], RegExp][] = [
      [["--variant", "in8"], /^error: Unknown variant `in8` in slmops\.yaml\.\n {2}hint: did you mean `--variant int8`\?\nUsage: slmops optimize/],
      [["--model", "story"], /^error: Unknown model `story` in slmops\.yaml\.\n {2}hint: did you mean `--model story-lm`\?/],
      [["--variant", "story-lm/fp61"], /^error: Unknown variant `fp61`.*\n {2}hint: did you mean `--variant fp16`\?/],
      [["--variant", "zzzzzz"], /hint: the variants are: int4, int4-rtn, int8, fp16, pruned-int8\./],
      [["--model", "other", "--variant", "story-lm/int8"], /^error: variant `story-lm\/int8` names model `story-lm` but the model filter is `other`/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(["optimize", ...args], { cwd: dir });
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.stdout).toBe("");
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
    expect(existsSync(join(dir, ".slmops"))).toBe(false);
  });

  it("prints the same diagnostics as slmops validate for an invalid manifest and exits 1", () => {
    const dir = exampleCopy();
    const text = readFileSync(join(dir, "slmops.yaml"), "utf8").replace("block-size: 32\n", "block-size: 33\n").replace("kind: decoder", "kind: decodr");
    writeFileSync(join(dir, "slmops.yaml"), text);
    const validate = runCli(["validate"], { cwd: dir });
    expect(validate.status).toBe(1);
    const diagnostics = validate.stdout.split("\n").filter((l) => /^slmops\.yaml:\d+:\d+: error: /.test(l));
    expect(diagnostics.length).toBeGreaterThanOrEqual(2);
    const r = runCli(["optimize", "--json"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    for (const line of diagnostics) expect(r.stderr).toContain(line);
    expect(r.stderr).toMatch(/✗ slmops\.yaml is invalid: \d+ errors\./);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(existsSync(join(dir, ".slmops"))).toBe(false);
  });

  it("keeps going past a variant that fails, leaves nothing of it, keeps its previous build, and exits 1", async () => {
    const dir = exampleCopy();
    // A second model whose source is a truncated copy of the first.
    const source = readFileSync(join(dir, "models", "story-lm", "model.onnx"));
    const text = readFileSync(join(dir, "slmops.yaml"), "utf8").replace(
      "\ndevices:\n",
      "\n  - id: broken-lm\n    source: models/broken-lm/model.onnx\n    kind: decoder\n    variants:\n      - id: q8\n        passes: [ { quantize: { weights: int8 } } ]\n\ndevices:\n",
    );
    writeFileSync(join(dir, "slmops.yaml"), text);
    cpSync(join(dir, "models", "story-lm"), join(dir, "models", "broken-lm"), { recursive: true });
    const all = [...(await exampleVariants()).keys()].map((id) => `story-lm/${id}`);
    const good = optimizeJson(dir);
    expect(good.map((v) => `${v.model}/${v.variant}`)).toEqual([...all, "broken-lm/q8"]);
    const before = sha256(join(dir, ".slmops", "variants", "broken-lm", "q8", "model.onnx"));

    writeFileSync(join(dir, "models", "broken-lm", "model.onnx"), source.subarray(0, Math.floor(source.byteLength / 2)));
    const r = runCli(["optimize", "--json"], { cwd: dir });
    expect(r.status).toBe(1);
    const built = JSON.parse(r.stdout) as OptimizeJsonVariant[];
    expect(built.map((v) => `${v.model}/${v.variant}`)).toEqual(all);
    expect(r.stderr).toMatch(/✗ broken-lm\/q8 failed: .*model\.onnx/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    // The failed build left no staging directory, and the previous build is untouched.
    expect(visible(join(dir, ".slmops", "variants", "broken-lm"))).toEqual(["q8"]);
    expect(readdirSync(join(dir, ".slmops", "variants", "broken-lm")).filter((n) => n.startsWith(".q8.build-"))).toHaveLength(1);
    expect(tree(join(dir, ".slmops", "variants", "broken-lm"))).toEqual(["q8/model.onnx"]);
    expect(sha256(join(dir, ".slmops", "variants", "broken-lm", "q8", "model.onnx"))).toBe(before);

    const table = runCli(["optimize", "--model", "broken-lm"], { cwd: dir });
    expect(table.status).toBe(1);
    expect(table.stdout).toMatch(/^broken-lm +q8 +failed/m);
    expect(table.stdout).toContain("✗ 1 of 1 variant failed; 0 written to .slmops/variants");
  });

  it.runIf(existsSync("/usr/bin/script"))("on a terminal, make-model and optimize redraw one progress line with a bar over tensors", () => {
    const dir = exampleCopy();
    // script(1) gives the commands a real pseudo-terminal; its output is the terminal's (stdout and stderr together).
    const onTerminal = (args: string) =>
      spawnSync("/usr/bin/script", ["-qfec", `${JSON.stringify(process.execPath)} ${JSON.stringify(binPath)} ${args}`, "/dev/null"], {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1", COLUMNS: "200" },
        timeout: 60_000,
      });
    const clear = "\r\u001b[2K";
    const made = onTerminal("make-model --preset nano --out made");
    expect(made.status).toBe(0);
    expect(made.stdout).toContain(`${clear}making weights`);
    expect(made.stdout).toMatch(/writing files +█{20} 5\/5/);
    expect(made.stdout).not.toContain("making weights…\r\n");

    const r = onTerminal("optimize --variant int4");
    expect(r.status).toBe(0);
    const frames = r.stdout.split(clear);
    // A bar not yet full during the pass (how many partial frames show depends on the machine's speed: redraws are throttled).
    expect(frames.some((f) => /^\[1\/1\] story-lm\/int4 █*░+ \d+\/\d+ pass 1\/2 quantize\(int4/.test(f))).toBe(true);
    expect(frames.some((f) => /^\[1\/1\] story-lm\/int4 █{20} (\d+)\/\1 pass 1\/2 quantize/.test(f))).toBe(true);
    expect(frames.some((f) => f.startsWith("✓ story-lm/int4 "))).toBe(true);
    expect(r.stdout).toMatch(/story-lm +int4 +quantize → graph-optimize/);
  });
});

describe("slmops optimize with method: gptq (real example model, calibration text apart from the eval set)", { timeout: 300_000 }, () => {
  it("calibrates on the model's calibration text and halves round-to-nearest's KL on the eval set, as slmops bench measures it", () => {
    const dir = exampleCopy();
    const lines = readFileSync(join(dir, "data", "eval.jsonl"), "utf8").split("\n").filter((l) => l.trim() !== "");
    // The eval set keeps the first half; the second half is the calibration text.
    writeFileSync(join(dir, "data", "eval.jsonl"), `${lines.slice(0, 32).join("\n")}\n`);
    writeFileSync(join(dir, "data", "calibration.jsonl"), `${lines.slice(32).join("\n")}\n`);
    writeFileSync(
      join(dir, "slmops.yaml"),
      [
        "version: 1",
        "models:",
        "  - id: story-lm",
        "    source: models/story-lm/model.onnx",
        "    kind: decoder",
        "    eval: { dataset: data/eval.jsonl, tokenizer: models/story-lm/tokenizer.json }",
        "    calibration: { dataset: data/calibration.jsonl }",
        "    variants:",
        "      - id: int4-rtn",
        "        passes: [ { quantize: { weights: int4, block-size: 32, method: rtn } } ]",
        "      - id: int4-gptq",
        "        passes: [ { quantize: { weights: int4, block-size: 32, method: gptq } } ]",
        "devices:",
        "  - id: local",
        "    runs-on: [self-hosted]",
        "    execution-providers: [cpu]",
        "",
      ].join("\n"),
    );
    const built = optimizeJson(dir);
    expect(built.map((v) => v.variant)).toEqual(["int4-rtn", "int4-gptq"]);
    const bench = runCli(["bench", "--warmup", "1", "--min-iterations", "3", "--min-duration", "100ms", "--prompt-tokens", "8", "--generate-tokens", "4", "--json"], { cwd: dir });
    expect(bench.status, bench.stderr).toBe(0);
    const report = JSON.parse(bench.stdout) as { results: { variant: string; accuracy?: { "kl-divergence": number } }[] };
    const kl = (variant: string) => report.results.find((r) => r.variant === variant)?.accuracy?.["kl-divergence"] ?? NaN;
    // Measured: 0.119 (rtn) against 0.039 (gptq).
    expect(kl("int4-gptq")).toBeLessThan(0.5 * kl("int4-rtn"));

    // Without text to calibrate on, the manifest says so at the pass, before anything is built.
    writeFileSync(join(dir, "slmops.yaml"), readFileSync(join(dir, "slmops.yaml"), "utf8").replace(/ {4}eval: .*\n {4}calibration: .*\n/, ""));
    const refused = runCli(["optimize", "--variant", "int4-gptq"], { cwd: dir });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/slmops\.yaml:\d+:\d+: error: `method: gptq` calibrates on text, and this model has none/);
    expect(hasStackTrace(refused.stderr)).toBe(false);
  });
});
