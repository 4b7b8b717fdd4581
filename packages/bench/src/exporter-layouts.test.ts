/**
 * The benchmark and its accuracy metrics on the layouts the common exporters
 * write: Optimum's merged decoder (fed `use_cache_branch`, its weights in
 * external data) and ONNX Runtime GenAI's builder output (no
 * `position_ids`). The same model in each layout, with the same int4
 * variant, is measured token by token and gets the accuracy figures the
 * plain layout gets.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAYOUT_FILE_NAMES, makeModel, resolveConfig, type GraphLayout } from "@slmops/model-maker";
import { writeModel } from "@slmops/onnx";
import { optimizeModel } from "@slmops/optimize";
import { runBenchmark, type BenchReport, type BenchSettings } from "./index.js";
import { characterTokenizer, EVAL_TEXTS } from "./test-support/project.js";

const QUICK: BenchSettings = { warmup: 1, minIterations: 2, minDurationMs: 0, promptTokens: 10, generateTokens: 5, timeoutMs: 60_000 };
const LAYOUTS: readonly GraphLayout[] = ["plain", "optimum-merged", "genai"];
const config = resolveConfig({ preset: "nano", layers: 2, seed: 5, tied: false, fit: "bigram" });

let dir: string;
let report: BenchReport;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-bench-layouts-"));
  const tokenizer = join(dir, "tokenizer.json");
  await writeFile(tokenizer, JSON.stringify(characterTokenizer()));
  const dataset = join(dir, "eval.jsonl");
  await writeFile(dataset, EVAL_TEXTS.map((text) => JSON.stringify({ text })).join("\n") + "\n");
  const models = [];
  for (const layout of LAYOUTS) {
    await mkdir(join(dir, layout));
    const source = join(dir, layout, LAYOUT_FILE_NAMES[layout]);
    await writeModel(source, makeModel(config, { layout }), { externalData: layout === "optimum-merged" ? { location: `${LAYOUT_FILE_NAMES[layout]}_data` } : false });
    const int4 = await optimizeModel({ source, outDir: join(dir, layout, "int4"), passes: [{ quantize: { weights: "int4" } }], kind: "decoder" });
    models.push({
      id: layout,
      source,
      kind: "decoder" as const,
      eval: { dataset, tokenizer },
      variants: [{ id: "int4", path: int4.output.path }],
    });
  }
  report = await runBenchmark({
    device: { id: "ci-box", intraOpThreads: 1, runnerLabels: ["self-hosted"], memoryBudgetBytes: 64 * 1024 ** 3 },
    settings: QUICK,
    models,
    referenceDir: join(dir, "references"),
  });
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const of = (model: string) => {
  const r = report.results.find((x) => x.model === model && x.variant === "int4");
  if (!r) throw new Error(`no int4 result for ${model}`);
  return r;
};

describe("the benchmark on the exporters' layouts", () => {
  it.each(["optimum-merged", "genai"])("measures %s decode token by token and gives the plain layout's accuracy figures", (layout) => {
    const plain = of("plain");
    const other = of(layout);
    expect(other.status, JSON.stringify(other)).toBe("ok");
    expect(other.samples?.["decode-ms"]).toHaveLength((other.run?.iterations ?? 0) * QUICK.generateTokens);
    expect(other.metrics["tokens-per-second"]).toBeGreaterThan(0);
    const [a, b] = [plain.accuracy!, other.accuracy!];
    expect(a["kl-divergence"]).toBeGreaterThan(1e-4); // int4 is measurably off fp32, so the comparison says something
    expect(Math.abs(b["kl-divergence"] - a["kl-divergence"]) / a["kl-divergence"]).toBeLessThan(1e-3);
    expect(a["top-1-agreement"]).toBeGreaterThan(0);
    expect(b["top-1-agreement"]).toBe(a["top-1-agreement"]);
  });
});
