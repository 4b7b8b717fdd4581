import { describe, expect, it } from "vitest";
import { baselineFromGitHub } from "./baseline-input.js";
import { useGitHubServer } from "./test-support/server.js";

const gh = useGitHubServer();
const owner = "acme";

function report(device: string, peakMemory: number): string {
  return JSON.stringify({
    "schema-version": 1,
    "created-at": "2026-01-02T03:04:05.678Z",
    device: {
      id: device,
      fingerprint: {
        "cpu-model": "cpu",
        "cpu-flags": [],
        "logical-cores": 4,
        "physical-cores": 4,
        "memory-bytes": 4294967296,
        os: "linux",
        "os-release": "6.6",
        arch: "arm64",
        "node-version": "20.20.2",
        "onnxruntime-version": "1.30.0",
        "execution-providers": ["cpu"],
        "runner-labels": [],
        "cpu-governor": null,
        "cpu-temperature-celsius": null,
      },
      session: { "execution-providers": ["cpu"], "intra-op-threads": 4, "inter-op-threads": 0, "graph-optimization-level": "all" },
    },
    settings: { warmup: 5, "min-iterations": 50, "min-duration-ms": 10000, "max-iterations": 100000, "prompt-tokens": 128, "generate-tokens": 64, seed: 0, "timeout-ms": 1800000 },
    models: [{ id: "story-lm", "source-sha256": "0".repeat(64) }],
    results: [{ model: "story-lm", variant: "int4", status: "ok", memory: { "peak-rss-bytes": peakMemory, "baseline-rss-bytes": 1 }, metrics: { "peak-memory": peakMemory } }],
  });
}

const options = (repo: string) => ({ owner, repo, workflow: "bench.yml", branch: "main", artifactName: "slmops-reports" });

describe("baselineFromGitHub", () => {
  it("reads the device results from the base branch's report artifact", async () => {
    gh.server.state.addWorkflowRun(owner, "a", {
      workflowFile: "bench.yml",
      headBranch: "main",
      headSha: "abcdef1".padEnd(40, "0"),
      artifacts: [{ name: "slmops-reports", files: { "rpi5.json": report("rpi5", 100), "nuc.json": report("nuc", 200) } }],
    });
    const baseline = await baselineFromGitHub(gh.client, options("a"));
    expect(baseline.status).toBe("found");
    if (baseline.status !== "found") return;
    expect(baseline.source).toBe("bench.yml run #1 on main (abcdef1)");
    expect(baseline.results.map((r) => [r.device, r.variant, r.metrics["peak-memory"]])).toEqual([
      ["nuc", "story-lm/int4", 200],
      ["rpi5", "story-lm/int4", 100],
    ]);
    expect(gh.server.violations, gh.server.describeViolations()).toEqual([]);
  });

  it("says plainly that there is no baseline", async () => {
    expect(await baselineFromGitHub(gh.client, options("none"))).toEqual({
      status: "missing",
      noneYet: true,
      reason: 'main has no run of bench.yml that uploaded its device reports (artifact "slmops-reports"): the workflow has not run in acme/none yet',
    });
  });

  it("refuses an artifact whose report has the wrong schema version", async () => {
    const bad = JSON.stringify({ ...JSON.parse(report("rpi5", 1)), "schema-version": 9 });
    gh.server.state.addWorkflowRun(owner, "b", { workflowFile: "bench.yml", headBranch: "main", artifacts: [{ name: "slmops-reports", files: { "rpi5.json": bad } }] });
    await expect(baselineFromGitHub(gh.client, options("b"))).rejects.toThrow(/rpi5\.json: bench report schema-version 9 is not supported/);
  });
});
