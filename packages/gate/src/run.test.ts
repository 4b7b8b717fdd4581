import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRandom } from "./random.js";
import { runGate } from "./run.js";
import { latencySamples, REALISTIC_NOISE } from "./test-support/latency.js";
import { benchReport, writeReports } from "./test-support/reports.js";

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
  - id: nuc
    runs-on: [self-hosted, nuc]
    execution-providers: [cpu]
gates:
  - name: edge
    require:
      peak-memory: { max: 512MiB }
      kl-divergence: { max: 0.05 }
      regression: { metric: decode-latency-p50, max-increase: 5% }
`;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "slmops-gate-run-"));
  await writeFile(join(root, "slmops.yaml"), MANIFEST);
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** 1-based line of the first line of the manifest containing `text`. */
const lineOf = (text: string) => MANIFEST.split("\n").findIndex((l) => l.includes(text)) + 1;

const decode = (seed: string, slowdown = 0) => latencySamples(createRandom(seed), 300, REALISTIC_NOISE, slowdown);

describe("runGate", () => {
  it("gates a run against a baseline, with the manifest lines of each check", async () => {
    await writeReports(join(root, "base"), [benchReport("rpi5", [{ variant: "int4", decodeMs: decode("b1") }]), benchReport("nuc", [{ variant: "int4", decodeMs: decode("b2") }])]);
    await writeReports(join(root, "run1"), [benchReport("rpi5", [{ variant: "int4", decodeMs: decode("c1", 0.2) }]), benchReport("nuc", [{ variant: "int4", decodeMs: decode("c2") }])]);
    const { verdict, reportFiles } = await runGate({ manifest: join(root, "slmops.yaml"), reports: join(root, "run1"), baseline: join(root, "base"), baselineDisplay: "base" });
    expect(reportFiles).toHaveLength(2);
    expect(verdict.outcome).toBe("fail");
    expect(verdict.baseline).toEqual({ status: "found", source: "base" });
    const rpi = verdict.pairs.find((p) => p.device === "rpi5")!;
    expect(rpi.checks.map((c) => [c.metric, c.outcome, c.location?.line])).toEqual([
      ["peak-memory", "pass", lineOf("peak-memory:")],
      ["kl-divergence", "pass", lineOf("kl-divergence:")],
      ["decode-latency-p50", "fail", lineOf("regression:")],
    ]);
    expect(rpi.checks[2]!.location).toEqual({ file: "slmops.yaml", line: 21, column: "      regression: ".length + 1 });
    expect(verdict.pairs.find((p) => p.device === "nuc")!.outcome).toBe("pass");
    // Each pair names the build it judged: the report's identity digest of the variant measured.
    expect(verdict.pairs.map((p) => p.modelSha256)).toEqual(["1".repeat(64), "1".repeat(64)]);
  });

  it("fails a planned device that did not report, or whose benchmark crashed", async () => {
    await writeReports(join(root, "run2"), [benchReport("rpi5", [{ variant: "int4", failed: "out of memory" }])]);
    const { verdict } = await runGate({ manifest: join(root, "slmops.yaml"), reports: join(root, "run2") });
    expect(verdict.outcome).toBe("fail");
    expect(verdict.checks.map((c) => c.message)).toEqual([
      'device "rpi5" could not benchmark variant "story-lm/int4": crash: out of memory',
      'device "nuc" did not report variant "story-lm/int4"',
    ]);
    expect(verdict.baseline).toEqual({ status: "missing", reason: "no baseline reports were given (pass --baseline <dir>)" });
  });

  it("refuses a baseline from a device with another runtime version", async () => {
    await writeReports(join(root, "base3"), [benchReport("rpi5", [{ variant: "int4", decodeMs: decode("b1") }], { "onnxruntime-version": "1.29.0" })]);
    await writeReports(join(root, "run3"), [benchReport("rpi5", [{ variant: "int4", decodeMs: decode("c1") }]), benchReport("nuc", [{ variant: "int4", decodeMs: decode("c2") }])]);
    const { verdict } = await runGate({ manifest: join(root, "slmops.yaml"), reports: join(root, "run3"), baseline: join(root, "base3") });
    const check = verdict.checks.find((c) => c.device === "rpi5" && c.kind === "regression")!;
    expect(check.outcome).toBe("fail");
    expect(check.message).toContain('onnxruntime-version: "1.29.0" on the baseline, "1.30.0" now');
    expect(verdict.checks.find((c) => c.device === "nuc" && c.kind === "regression")!.outcome).toBe("inconclusive");
  });
});
