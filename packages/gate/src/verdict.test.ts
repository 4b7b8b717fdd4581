import { ConfigurationError } from "@slmops/diagnostics";
import { describe, expect, it } from "vitest";
import { createRandom } from "./random.js";
import { latencySamples, REALISTIC_NOISE } from "./test-support/latency.js";
import { evaluateGates, type DeviceResult, type GateDefinition, type GateInput } from "./verdict.js";

const fingerprint = { cpu: "Cortex-A76", cores: 4, arch: "arm64", runtime: "onnxruntime 1.30.0" };
const location = { file: "slmops.yaml", line: 30, column: 5 };

function result(device: string, variant: string, slowdown: number, seed: string, extra: Partial<DeviceResult> = {}): DeviceResult {
  const decode = latencySamples(createRandom(seed), 200, REALISTIC_NOISE, slowdown);
  const sorted = [...decode].sort((a, b) => a - b);
  return {
    device,
    variant,
    fingerprint,
    metrics: { "decode-latency-p50": sorted[100]!, "decode-latency-p90": sorted[180]!, "peak-memory": 300 * 2 ** 20, "kl-divergence": 0.01 },
    samples: { "decode-latency": decode },
    ...extra,
  };
}

const gate: GateDefinition = {
  name: "rpi5 int4",
  devices: ["rpi5"],
  variants: ["int4"],
  limits: { "decode-latency-p90": { max: 40 }, "peak-memory": { max: 512 * 2 ** 20 }, "kl-divergence": { max: 0.05 } },
  regression: { metric: "decode-latency-p50", maxChange: 0.05, confidence: 0.95 },
  location,
};

function input(results: DeviceResult[], baseline: DeviceResult[] | undefined, gates: GateDefinition[] = [gate]): GateInput {
  return {
    plan: [
      { device: "rpi5", variant: "story-lm/int4" },
      { device: "jetson", variant: "story-lm/int4" },
    ],
    results,
    baseline: baseline ? { status: "found", source: "run 42 on main", results: baseline } : { status: "missing", reason: "no successful run of bench.yml on main" },
    gates,
  };
}

describe("evaluateGates", () => {
  const base = [result("rpi5", "story-lm/int4", 0, "b1"), result("jetson", "story-lm/int4", 0, "b2")];

  it("passes when every planned pair reported and meets its gates", () => {
    const verdict = evaluateGates(input([result("rpi5", "story-lm/int4", 0, "c1"), result("jetson", "story-lm/int4", 0, "c2")], base));
    expect(verdict.outcome).toBe("pass");
    const rpi = verdict.pairs.find((p) => p.device === "rpi5")!;
    expect(rpi.checks.map((c) => `${c.kind}:${c.metric}:${c.outcome}`)).toEqual([
      "limit:decode-latency-p90:pass",
      "limit:peak-memory:pass",
      "limit:kl-divergence:pass",
      "regression:decode-latency-p50:pass",
    ]);
    // The gate selects rpi5 only; jetson has no checks but reported.
    expect(verdict.pairs.find((p) => p.device === "jetson")!.checks).toEqual([]);
    expect(verdict.counts).toEqual({ pass: 4, fail: 0, inconclusive: 0 });
    expect(rpi.baselineMetrics).toBeDefined();
  });

  it("fails a planned device that did not report", () => {
    const verdict = evaluateGates(input([result("rpi5", "story-lm/int4", 0, "c1")], base));
    expect(verdict.outcome).toBe("fail");
    const jetson = verdict.pairs.find((p) => p.device === "jetson")!;
    expect(jetson.reported).toBe(false);
    expect(jetson.checks[0]!.message).toBe('device "jetson" did not report variant "story-lm/int4"');
  });

  it("fails a 20% slowdown with the gate's location for the annotation", () => {
    const verdict = evaluateGates(input([result("rpi5", "story-lm/int4", 0.2, "c1"), result("jetson", "story-lm/int4", 0, "c2")], base));
    const regression = verdict.checks.find((c) => c.kind === "regression")!;
    expect(regression.outcome).toBe("fail");
    expect(regression.location).toEqual(location);
    expect(regression.regression!.lower).toBeGreaterThan(0.05);
    expect(verdict.outcome).toBe("fail");
  });

  it("says plainly that there is no baseline, and does not pass the regression check", () => {
    const verdict = evaluateGates(input([result("rpi5", "story-lm/int4", 0, "c1"), result("jetson", "story-lm/int4", 0, "c2")], undefined));
    const regression = verdict.checks.find((c) => c.kind === "regression")!;
    expect(regression.outcome).toBe("inconclusive");
    expect(regression.message).toBe("no baseline to compare decode-latency-p50 with: no successful run of bench.yml on main");
    expect(verdict.outcome).toBe("inconclusive");
    expect(verdict.baseline).toEqual({ status: "missing", reason: "no successful run of bench.yml on main" });
  });

  it("skips regression checks while the base branch has no baseline yet, unless the gate requires one", () => {
    const results = [result("rpi5", "story-lm/int4", 0, "c1"), result("jetson", "story-lm/int4", 0, "c2")];
    const noneYet = { status: "missing", reason: "main has no run of bench.yml with device reports", noneYet: true } as const;
    const skipped = evaluateGates({ ...input(results, undefined), baseline: noneYet });
    expect(skipped.outcome).toBe("pass");
    expect(skipped.checks.map((c) => c.kind)).toEqual(["limit", "limit", "limit"]);
    expect(skipped.baseline).toEqual({ status: "missing", reason: "main has no run of bench.yml with device reports", noneYet: true });
    // A limit still fails as before: only the comparison waits for a baseline.
    expect(evaluateGates({ ...input([result("rpi5", "story-lm/int4", 1, "c1"), results[1]!], undefined), baseline: noneYet }).outcome).toBe("fail");

    const required = evaluateGates({ ...input(results, undefined, [{ ...gate, regression: { ...gate.regression!, requireBaseline: true } }]), baseline: noneYet });
    const check = required.checks.find((c) => c.kind === "regression")!;
    expect([check.outcome, check.message]).toEqual(["inconclusive", "no baseline to compare decode-latency-p50 with: main has no run of bench.yml with device reports"]);
    expect(check.advice).toMatch(/require-baseline: true/);
    expect(required.outcome).toBe("inconclusive");
  });

  it("refuses to compare across fingerprints unless the gate allows it", () => {
    const other = result("rpi5", "story-lm/int4", 0, "c1", { fingerprint: { ...fingerprint, runtime: "onnxruntime 1.31.0" } });
    const refused = evaluateGates(input([other, result("jetson", "story-lm/int4", 0, "c2")], base));
    const check = refused.checks.find((c) => c.kind === "regression")!;
    expect(check.outcome).toBe("fail");
    expect(check.message).toMatch(/refused to compare .*runtime: "onnxruntime 1.30.0" on the baseline, "onnxruntime 1.31.0" now/);
    expect(check.advice).toMatch(/allow-fingerprint-mismatch/);
    const allowed = evaluateGates(input([other, result("jetson", "story-lm/int4", 0, "c2")], base, [{ ...gate, allowFingerprintMismatch: true }]));
    expect(allowed.checks.find((c) => c.kind === "regression")!.outcome).toBe("pass");
  });

  it("fails a limit whose metric is missing from the report", () => {
    const partial = result("rpi5", "story-lm/int4", 0, "c1");
    const { "kl-divergence": _kl, ...metrics } = partial.metrics;
    const verdict = evaluateGates(input([{ ...partial, metrics }, result("jetson", "story-lm/int4", 0, "c2")], base));
    expect(verdict.checks.find((c) => c.metric === "kl-divergence")!.outcome).toBe("fail");
  });

  it("compares metrics without samples as exact values", () => {
    const regressionOnSize: GateDefinition = { name: "size", regression: { metric: "peak-memory", maxChange: 0.1 } };
    const bigger = result("rpi5", "story-lm/int4", 0, "c1");
    const verdict = evaluateGates(input([{ ...bigger, metrics: { ...bigger.metrics, "peak-memory": 400 * 2 ** 20 } }, result("jetson", "story-lm/int4", 0, "c2")], base, [regressionOnSize]));
    const rpi = verdict.checks.find((c) => c.device === "rpi5")!;
    expect(rpi.regression!.method).toBe("exact");
    expect(rpi.outcome).toBe("fail");
    expect(verdict.checks.find((c) => c.device === "jetson")!.outcome).toBe("pass");
  });

  it("rejects a run with two results for the same pair", () => {
    const r = result("rpi5", "story-lm/int4", 0, "c1");
    expect(() => evaluateGates(input([r, r], base))).toThrow(ConfigurationError);
  });

  it("is deterministic for the same inputs and lists unplanned results", () => {
    const results = [result("rpi5", "story-lm/int4", 0.05, "c1"), result("jetson", "story-lm/int4", 0, "c2"), result("x86", "story-lm/int4", 0, "c3")];
    const a = evaluateGates(input(results, base));
    const b = evaluateGates(input(structuredClone(results), structuredClone(base)));
    expect(b).toEqual(a);
    expect(a.unplanned).toEqual([{ device: "x86", variant: "story-lm/int4", reason: "not-planned" }]);
  });

  it("names a result for a device or variant the manifest lacks", () => {
    const results = [result("rpi5", "story-lm/int4", 0, "c1"), result("jetson", "story-lm/int4", 0, "c2"), result("rpi6", "story-lm/int4", 0, "c3"), result("rpi5", "story-lm/int3", 0, "c4")];
    const verdict = evaluateGates({ ...input(results, base), known: { devices: ["rpi5", "jetson", "x86"], variants: ["story-lm/int4"] } });
    expect(verdict.unplanned).toEqual([
      { device: "rpi6", variant: "story-lm/int4", reason: "unknown-device" },
      { device: "rpi5", variant: "story-lm/int3", reason: "unknown-variant" },
    ]);
  });

  it("fails a pair whose report was refused, saying why", () => {
    const results = [result("rpi5", "story-lm/int4", 0, "c1")];
    const failures = [{ device: "jetson", variant: "story-lm/int4", message: "jetson.json: story-lm/int4: peak-memory is 1 but memory.peak-rss-bytes is 2", refused: true }];
    const verdict = evaluateGates({ ...input(results, base), failures });
    const check = verdict.checks.find((c) => c.device === "jetson")!;
    expect(check).toMatchObject({ kind: "reported", outcome: "fail" });
    expect(check.message).toBe('the report of device "jetson" for variant "story-lm/int4" was refused: jetson.json: story-lm/int4: peak-memory is 1 but memory.peak-rss-bytes is 2');
    expect(check.advice).toMatch(/exactly as the benchmark wrote it/);
  });
});
