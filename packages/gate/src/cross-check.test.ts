import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchReport, VariantResultJson } from "@slmops/bench/report";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crossCheckResult } from "./cross-check.js";
import { METRIC_NAMES, METRICS, type MetricName } from "./metrics.js";
import { createRandom } from "./random.js";
import { resultsFromReport } from "./reports.js";
import { runGate } from "./run.js";
import { latencySamples, REALISTIC_NOISE } from "./test-support/latency.js";
import { benchReport, writeReports } from "./test-support/reports.js";

const MiB = 1024 ** 2;
const samples = (seed: string, count = 300) => latencySamples(createRandom(seed), count, REALISTIC_NOISE);

/** A decoder and a generic model on one device, as the benchmark reports them: together they carry every metric. */
const genuine = (): BenchReport =>
  benchReport("rpi5", [
    { variant: "int4", decodeMs: samples("decode"), metrics: { "peak-memory": 900 * MiB, "kl-divergence": 0.2, "top-1-agreement": 0.7, perplexity: 40, "load-time": 900, "model-size": 400 * MiB } },
    { model: "classifier", variant: "int8", latencyMs: samples("latency", 200) },
  ]);

/** The report with one result's `metrics` edited and nothing else. */
function withMetric(report: BenchReport, index: number, metric: string, value: number): BenchReport {
  const results = report.results.map((r, i) => (i === index ? ({ ...r, metrics: { ...r.metrics, [metric]: value } } as VariantResultJson) : r));
  return { ...report, results };
}

/** The report with one result replaced. */
function withResult(report: BenchReport, index: number, change: (r: VariantResultJson) => VariantResultJson): BenchReport {
  return { ...report, results: report.results.map((r, i) => (i === index ? change(r) : r)) };
}

/** A better value for a metric, the way a tamperer would edit it. */
const better = (metric: MetricName, value: number) => (METRICS[metric].direction === "lower-is-better" ? value / 2 : Math.min(1, value * 1.05));

describe("crossCheckResult", () => {
  it("finds nothing wrong with a report as the benchmark wrote it", () => {
    for (const result of genuine().results) expect(crossCheckResult(result)).toEqual([]);
  });

  it("catches an edit of every metric the gate reads, one at a time", () => {
    const report = genuine();
    for (const metric of METRIC_NAMES) {
      const index = report.results.findIndex((r) => r.metrics[metric] !== undefined);
      expect(index, `${metric} is in the genuine report`).toBeGreaterThanOrEqual(0);
      const edited = withMetric(report, index, metric, better(metric, report.results[index]!.metrics[metric]!));
      const { results, failures } = resultsFromReport(edited, "rpi5.json");
      expect(results, metric).toEqual([]);
      expect(failures.map((f) => f.refused)).toEqual([true, true]);
      expect(failures[0]!.message, metric).toMatch(new RegExp(`^rpi5\\.json: [a-z-]+/int[48]: ${metric} is [\\d.e+-]+ but .*; the report was changed after the benchmark wrote it$`));
    }
  });

  it("refuses a metric whose source was deleted along with the edit", () => {
    const report = withResult(genuine(), 0, (r) => {
      const { memory: _memory, accuracy: _accuracy, ...rest } = r;
      return { ...rest, metrics: { ...r.metrics, "peak-memory": 100 * MiB, "kl-divergence": 0.001 } } as VariantResultJson;
    });
    expect(crossCheckResult(report.results[0]!)).toEqual([
      "peak-memory is 104857600 but the result has no memory.peak-rss-bytes it derives from",
      "kl-divergence is 0.001 but the result has no accuracy.kl-divergence it derives from",
      "kl-divergence-stderr is 0.001 but the result has no accuracy.kl-divergence-stderr it derives from",
      "top-1-agreement is 0.7 but the result has no accuracy.top-1-agreement it derives from",
      "perplexity is 40 but the result has no accuracy.perplexity it derives from",
    ]);
  });

  it("refuses sample counts that do not match the samples", () => {
    const report = genuine();
    const decoder = report.results[0]!;
    const decode = decoder.samples!["decode-ms"]!;
    const cases: [string, VariantResultJson][] = [
      ["decode-latency-ms.count is 10 but there are 300 decode-ms samples", { ...decoder, "decode-latency-ms": { ...decoder["decode-latency-ms"]!, count: 10 } }],
      ["there are 299 decode-context entries for 300 decode-ms samples", { ...decoder, samples: { ...decoder.samples, "decode-context": decoder.samples!["decode-context"]!.slice(1) } }],
      ["run.iterations is 50 but there are 5 ttft-ms samples", { ...decoder, run: { ...decoder.run!, iterations: 50 } }],
      ["decode-latency-by-context counts 7 decode steps but there are 300 decode-ms samples", { ...decoder, "decode-latency-by-context": { "slope-ms-per-1k-tokens": 0, buckets: [{ "context-from": 128, "context-to": 191, count: 7, "mean-ms": 1, "p50-ms": 1 }] } }],
      [`model-size-bytes is ${400 * MiB} but its files add up to 1 bytes`, { ...decoder, files: [{ name: "model.onnx", bytes: 1 }] }],
    ];
    expect(decode).toHaveLength(300);
    for (const [problem, result] of cases) expect(crossCheckResult(result)).toEqual([problem]);
  });

  it("refuses samples cut down to match an edited percentile's count", () => {
    const decoder = genuine().results[0]!;
    const kept = decoder.samples!["decode-ms"]!.slice(0, 100);
    const edited = { ...decoder, samples: { ...decoder.samples, "decode-ms": kept } } as VariantResultJson;
    expect(crossCheckResult(edited)).toContain("decode-latency-ms.count is 300 but there are 100 decode-ms samples");
  });
});

const MANIFEST = `version: 1
models:
  - id: story-lm
    source: models/story-lm/model.onnx
    kind: decoder
    variants:
      - id: int4
        passes: [ { quantize: { weights: int4 } } ]
devices:
  - id: rpi5
    runs-on: [self-hosted, rpi5]
    execution-providers: [cpu]
gates:
  - name: edge
    require:
      peak-memory: { max: 512MiB }
      kl-divergence: { max: 0.05 }
`;

describe("runGate on a tampered report", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "slmops-gate-tamper-"));
    await writeFile(join(root, "slmops.yaml"), MANIFEST);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("fails the device whose metrics were edited into passing, naming each edit, without throwing", async () => {
    const report = benchReport("rpi5", [{ variant: "int4", decodeMs: samples("d"), metrics: { "peak-memory": 900 * MiB, "kl-divergence": 0.2 } }]);
    await writeReports(join(root, "genuine"), [report]);
    const honest = await runGate({ manifest: join(root, "slmops.yaml"), reports: join(root, "genuine"), reportsDisplay: "genuine" });
    expect(honest.verdict.checks.map((c) => [c.metric, c.outcome])).toEqual([
      ["peak-memory", "fail"],
      ["kl-divergence", "fail"],
    ]);

    await writeReports(join(root, "edited"), [withMetric(withMetric(report, 0, "peak-memory", 100 * MiB), 0, "kl-divergence", 0.001)]);
    const { verdict } = await runGate({ manifest: join(root, "slmops.yaml"), reports: join(root, "edited"), reportsDisplay: "edited" });
    expect(verdict.outcome).toBe("fail");
    expect(verdict.checks).toHaveLength(1);
    expect(verdict.checks[0]).toMatchObject({ kind: "reported", outcome: "fail" });
    expect(verdict.checks[0]!.message).toBe(
      'the report of device "rpi5" for variant "story-lm/int4" was refused: edited/rpi5.json: story-lm/int4: ' +
        `peak-memory is ${100 * MiB} but memory.peak-rss-bytes is ${900 * MiB}; story-lm/int4: kl-divergence is 0.001 but accuracy.kl-divergence is 0.2; ` +
        "the report was changed after the benchmark wrote it",
    );
  });

  it("names a report for a device or a variant the manifest lacks", async () => {
    await writeReports(join(root, "strangers"), [
      benchReport("rpi5", [{ variant: "int4", decodeMs: samples("a") }, { variant: "int3", decodeMs: samples("b") }]),
      benchReport("rpi6", [{ variant: "int4", decodeMs: samples("c") }]),
    ]);
    const { verdict } = await runGate({ manifest: join(root, "slmops.yaml"), reports: join(root, "strangers") });
    expect(verdict.unplanned).toEqual([
      { device: "rpi5", variant: "story-lm/int3", reason: "unknown-variant" },
      { device: "rpi6", variant: "story-lm/int4", reason: "unknown-device" },
    ]);
  });

  it("says a regression check has no baseline to compare with because the baseline's report was refused", async () => {
    await writeFile(join(root, "regression.yaml"), MANIFEST.replace("      kl-divergence: { max: 0.05 }", "      regression: { metric: peak-memory, max-increase: 5% }"));
    const report = benchReport("rpi5", [{ variant: "int4", decodeMs: samples("d") }]);
    await writeReports(join(root, "base-edited"), [withMetric(report, 0, "peak-memory", 1000 * MiB)]);
    await writeReports(join(root, "run"), [report]);
    const { verdict } = await runGate({ manifest: join(root, "regression.yaml"), reports: join(root, "run"), baseline: join(root, "base-edited"), baselineDisplay: "base" });
    const check = verdict.checks.find((c) => c.kind === "regression")!;
    expect(check.outcome).toBe("inconclusive");
    expect(check.message).toBe(
      `the baseline's report of device "rpi5" was refused, so peak-memory cannot be compared: base/rpi5.json: story-lm/int4: peak-memory is ${1000 * MiB} but memory.peak-rss-bytes is ${300 * MiB}; the report was changed after the benchmark wrote it`,
    );
  });
});
