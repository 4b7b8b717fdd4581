import { evaluateGates } from "@slmops/gate";
import { describe, expect, it } from "vitest";
import { batchAnnotations, diagnosticToAnnotation, fitText, publishCheckRun, type CheckAnnotation } from "./check-run.js";
import { GitHubApiError, createGitHubClient } from "./client.js";
import { useGitHubServer } from "./test-support/server.js";
import { checkConclusion, verdictAnnotations } from "./verdict-output.js";

const gh = useGitHubServer();
const owner = "acme";
const repo = "edge-models";
const sha = "0123456789abcdef0123456789abcdef01234567";

const annotation = (i: number): CheckAnnotation => ({ path: "slmops.yaml", start_line: i + 1, end_line: i + 1, annotation_level: "failure", message: `gate ${i} failed` });

describe("publishCheckRun", () => {
  it("sends 120 annotations in batches of 50 and GitHub keeps all of them in order", async () => {
    const annotations = Array.from({ length: 120 }, (_, i) => annotation(i));
    const result = await publishCheckRun(gh.client, { owner, repo, name: "slmops gate", headSha: sha, conclusion: "failure", title: "1 gate failed", summary: "details", annotations });
    expect(result.batches).toEqual([50, 50, 20]);
    const stored = gh.server.state.checkRun(owner, repo, result.checkRunId)!;
    expect(stored.annotationBatches).toEqual([50, 50, 20]);
    expect(stored.annotations.map((a) => a.message)).toEqual(annotations.map((a) => a.message));
    expect(stored.conclusion).toBe("failure");
    expect(stored.status).toBe("completed");
    expect(stored.output.summary).toBe("details");
    const listed = await gh.client.paginate(gh.client.rest.checks.listAnnotations, { owner, repo, check_run_id: result.checkRunId, per_page: 100 });
    expect(listed).toHaveLength(120);
    expect(gh.server.violations, gh.server.describeViolations()).toEqual([]);
  });

  it("creates a check run without annotations in one request", async () => {
    const before = gh.server.requests.length;
    const result = await publishCheckRun(gh.client, { owner, repo, name: "slmops gate", headSha: sha, conclusion: "success", title: "all passed", summary: "ok" });
    expect(result.batches).toEqual([]);
    expect(gh.server.requests.length - before).toBe(1);
    expect(gh.server.violations, gh.server.describeViolations()).toEqual([]);
  });

  it("turns a refused token into an error that names the permission", async () => {
    const wrong = createGitHubClient({ token: "not-the-token", baseUrl: gh.server.url });
    const error = await publishCheckRun(wrong, { owner, repo, name: "x", headSha: sha, conclusion: "success", title: "t", summary: "s" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitHubApiError);
    expect((error as GitHubApiError).status).toBe(401);
    expect((error as Error).message).toMatch(/creating the check run "x" failed \(HTTP 401\)/);
  });
});

describe("annotations", () => {
  it("batches at most 50 per request", () => {
    expect(batchAnnotations(Array.from({ length: 101 }, (_, i) => annotation(i))).map((b) => b.length)).toEqual([50, 50, 1]);
    expect(batchAnnotations([])).toEqual([]);
  });

  it("converts diagnostics, with columns only on one-line spans", () => {
    expect(diagnosticToAnnotation({ severity: "error", code: "gate/fail", message: "m", file: "slmops.yaml", line: 4, column: 7, endColumn: 12, hint: "h" })).toEqual({
      path: "slmops.yaml",
      start_line: 4,
      end_line: 4,
      start_column: 7,
      end_column: 12,
      annotation_level: "failure",
      message: "m\nHint: h",
      title: "gate/fail",
    });
    const multi = diagnosticToAnnotation({ severity: "warning", code: "c", message: "m", file: "f", line: 2, column: 1, endLine: 5 });
    expect(multi.start_column).toBeUndefined();
    expect(multi.annotation_level).toBe("warning");
  });

  it("annotates the gate line of every check that did not pass", () => {
    const verdict = evaluateGates({
      plan: [{ device: "rpi5", variant: "int4" }],
      results: [{ device: "rpi5", variant: "int4", fingerprint: {}, metrics: { "peak-memory": 900, "model-size": 10 } }],
      baseline: { status: "missing", reason: "none" },
      gates: [{ name: "memory", limits: { "peak-memory": { max: 512 }, "model-size": { max: 100 } }, location: { file: "slmops.yaml", line: 31, column: 7 } }],
    });
    expect(checkConclusion(verdict.outcome)).toBe("failure");
    expect(verdictAnnotations(verdict)).toEqual([
      { path: "slmops.yaml", start_line: 31, end_line: 31, annotation_level: "failure", title: "memory: rpi5 · int4", message: "peak-memory is 900B, above the maximum 512B" },
    ]);
  });

  it("cuts over-long text and says so", () => {
    const cut = fitText("x".repeat(100), 60);
    expect(cut.length).toBe(60);
    expect(cut).toMatch(/cut to fit/);
    expect(fitText("short", 60)).toBe("short");
  });
});
