import { evaluateGates, type GateDefinition } from "@slmops/gate";
import { describe, expect, it } from "vitest";
import { REPORT_MARKER } from "./comment.js";
import { publishVerdict } from "./publish.js";
import { useGitHubServer } from "./test-support/server.js";

const gh = useGitHubServer();
const owner = "acme";
const repo = "edge-models";
const sha = "89abcdef".repeat(5);

/** 60 devices over a memory limit: more annotations than one request may carry. */
function verdictFor(memory: number) {
  const devices = Array.from({ length: 60 }, (_, i) => `device-${String(i).padStart(2, "0")}`);
  const gate: GateDefinition = { name: "memory", limits: { "peak-memory": { max: 500 } }, limitLocations: { "peak-memory": { file: "slmops.yaml", line: 42, column: 20 } } };
  return evaluateGates({
    plan: devices.map((device) => ({ device, variant: "m/int4" })),
    results: devices.map((device) => ({ device, variant: "m/int4", fingerprint: {}, metrics: { "peak-memory": memory } })),
    baseline: { status: "missing", reason: "first run" },
    gates: [gate],
  });
}

describe("publishVerdict", () => {
  it("comments once, updates on the next push, and files a check run with batched annotations on the gate's line", async () => {
    const failing = await publishVerdict(gh.client, { owner, repo, verdict: verdictFor(900), pullRequest: 12, headSha: sha, runUrl: "https://example.test/runs/1" });
    expect(failing.comment?.action).toBe("created");
    expect(failing.checkRun.batches).toEqual([50, 10]);
    const run = gh.server.state.checkRun(owner, repo, failing.checkRun.checkRunId)!;
    expect(run.conclusion).toBe("failure");
    expect(run.output.title).toBe("A gate failed (0 passed, 60 failed, 0 inconclusive)");
    expect(run.detailsUrl).toBe("https://example.test/runs/1");
    expect(new Set(run.annotations.map((a) => `${a.path}:${a.start_line}:${a.annotation_level}`))).toEqual(new Set(["slmops.yaml:42:failure"]));
    expect(run.annotations).toHaveLength(60);

    const passing = await publishVerdict(gh.client, { owner, repo, verdict: verdictFor(100), pullRequest: 12, headSha: sha });
    expect(passing.comment).toMatchObject({ action: "updated", commentId: failing.comment!.commentId });
    expect(passing.checkRun.batches).toEqual([]);
    expect(gh.server.state.checkRun(owner, repo, passing.checkRun.checkRunId)!.conclusion).toBe("success");
    const comments = gh.server.state.comments(owner, repo, 12);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body.startsWith(`${REPORT_MARKER}\n## ✅ slmops: every gate passed`)).toBe(true);
    expect(gh.server.violations, gh.server.describeViolations()).toEqual([]);
  });

  it("files only the check run when there is no pull request", async () => {
    const result = await publishVerdict(gh.client, { owner, repo, verdict: verdictFor(100), headSha: sha });
    expect(result.comment).toBeUndefined();
    expect(result.markdown).toContain("every gate passed");
  });
});
