/**
 * The baseline's life, as the reusable workflow lives it, against the local
 * GitHub API (every request checked against GitHub's OpenAPI description):
 * a pull request before any baseline, the default branch's first run (no
 * baseline: regression checks skipped, the gate passes, its device reports
 * uploaded as `slmops-reports`), then pull requests that find that artifact
 * through the API and compare with it — and a default-branch run whose
 * regression check failed still becomes the next baseline.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { startGitHubTestServer, type GitHubTestServer } from "@slmops/github-test-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWNER, pullRequestPayload, webhookExample } from "./test-support/payloads.js";
import { deviceReport, writeReports } from "./test-support/reports.js";
import { runAction, type ActionRun } from "./test-support/run-action.js";
import type { VerdictFile } from "./verdict-file.js";

const TOKEN = "ghs_lifecycle-token";
const REPO = "models-lifecycle";
const WORKFLOW = "models.yml";
const MANIFEST = `version: 1
models:
  - id: story-lm
    source: models/story-lm/model.onnx
    kind: decoder
    variants:
      - id: int8
        passes:
          - quantize: { weights: int8 }
devices:
  - id: rpi5
    runs-on: [self-hosted, linux, arm64, rpi5]
    execution-providers: [cpu]
gates:
  - name: edge latency
    devices: [rpi5]
    variants: [int8]
    require:
      decode-latency-p90: { max: 40ms }
      regression: { metric: decode-latency-p50, max-increase: 5%, confidence: 0.95 }
`;
const NO_BASELINE_YET = "No baseline yet: the default branch has no run with device reports; regression checks are skipped until one exists";

let server: GitHubTestServer;
beforeAll(async () => {
  server = await startGitHubTestServer({ token: TOKEN });
});
afterAll(async () => {
  expect(server.violations, server.describeViolations()).toEqual([]);
  await server.close();
});

const sha = (n: number) => n.toString(16).padStart(40, "b");

function workspace(decodeCenterMs: number): string {
  const root = mkdtempSync(join(tmpdir(), "baseline-lifecycle-"));
  mkdirSync(join(root, "project"), { recursive: true });
  writeFileSync(join(root, "project", "slmops.yaml"), MANIFEST);
  writeReports(join(root, "bench-reports"), [deviceReport("rpi5", { decodeCenterMs })]);
  return root;
}

/** The files of a directory by path inside it, as actions/upload-artifact zips them. */
function filesOf(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files[relative(dir, join(entry.parentPath, entry.name)).split("\\").join("/")] = readFileSync(join(entry.parentPath, entry.name), "utf8");
  }
  return files;
}

interface Step {
  readonly run: ActionRun;
  readonly verdict: VerdictFile["verdict"];
  readonly ws: string;
  readonly runId: number;
}

/** One run of the workflow: its run is in progress on the server while the gate step runs, then the gate job's upload step and the run's end. */
async function workflowRun(event: "push" | "pull_request", options: { head: string; decodeCenterMs: number; number?: number }): Promise<Step> {
  const ws = workspace(options.decodeCenterMs);
  const current = server.state.addWorkflowRun(OWNER, REPO, { workflowFile: WORKFLOW, headBranch: event === "push" ? "main" : "topic", headSha: options.head, event, status: "in_progress", conclusion: null });
  const refs: Record<string, string> = event === "push" ? { GITHUB_REF_NAME: "main", GITHUB_WORKFLOW_REF: `${OWNER}/${REPO}/.github/workflows/${WORKFLOW}@refs/heads/main` } : { GITHUB_BASE_REF: "main", GITHUB_REF_NAME: `${options.number}/merge`, GITHUB_WORKFLOW_REF: `${OWNER}/${REPO}/.github/workflows/${WORKFLOW}@refs/pull/${options.number}/merge` };
  const run = await runAction({
    workspace: ws,
    inputs: { manifest: "project/slmops.yaml", "reports-dir": "bench-reports", baseline: "github", token: TOKEN, publish: "auto" },
    event: { name: event, payload: event === "push" ? webhookExample("push") : pullRequestPayload(options.head, { number: options.number ?? 1 }) },
    env: { GITHUB_API_URL: server.url, GITHUB_REPOSITORY: `${OWNER}/${REPO}`, GITHUB_SHA: options.head, GITHUB_RUN_ID: String(current.id), ...refs },
  });
  expect(run.stderr).toBe("");
  // slmops.yml's gate job: "if: always()" — the reports are uploaded whatever the gate said, on the default branch.
  if (event === "push") server.state.uploadArtifact(OWNER, REPO, current.id, { name: "slmops-reports", files: filesOf(join(ws, "bench-reports")) });
  server.state.completeWorkflowRun(OWNER, REPO, current.id, run.status === 0 ? "success" : "failure");
  const verdict = (JSON.parse(readFileSync(join(ws, "slmops-gate", "slmops-verdict.json"), "utf8")) as VerdictFile).verdict;
  return { run, verdict, ws, runId: current.id };
}

const regressions = (step: Step) => step.verdict.checks.filter((c) => c.kind === "regression").map((c) => c.outcome);

describe("the baseline lifecycle (bundled action, local GitHub API)", { timeout: 120_000 }, () => {
  it("starts with the default branch's first run and is compared with by the pull requests after it", async () => {
    // 1. A pull request before the default branch ever ran: said plainly, not blocked.
    const early = await workflowRun("pull_request", { head: sha(1), decodeCenterMs: 20, number: 11 });
    expect(early.run.status, early.run.stdout).toBe(0);
    expect(early.verdict.outcome).toBe("pass");
    expect(early.verdict.baseline).toMatchObject({ status: "missing", noneYet: true });
    expect(regressions(early)).toEqual([]);
    const comment = server.state.comments(OWNER, REPO, 11)[0]?.body ?? "";
    expect(comment).toContain(NO_BASELINE_YET);
    expect(early.run.stdout).toContain(NO_BASELINE_YET.replace(/^N/, "n"));

    // 2. The default branch's first run: no baseline, the gate passes, its reports become the baseline.
    const first = await workflowRun("push", { head: sha(2), decodeCenterMs: 20 });
    expect(first.run.status, first.run.stdout).toBe(0);
    expect(first.run.outputs).toMatchObject({ verdict: "pass", published: "check" });
    expect(first.verdict.baseline).toMatchObject({ status: "missing", noneYet: true });
    expect(first.run.summary).toContain(NO_BASELINE_YET);

    // 3. A pull request finds that artifact through the API and compares with it: 50% slower fails.
    const before = server.requests.length;
    const slower = await workflowRun("pull_request", { head: sha(3), decodeCenterMs: 30, number: 12 });
    expect(slower.run.status).toBe(1);
    expect(slower.verdict.baseline).toEqual({ status: "found", source: `${WORKFLOW} run #2 on main (${sha(2).slice(0, 7)})` });
    expect(regressions(slower)).toEqual(["fail"]);
    expect(server.requests.slice(before).map((r) => r.operationId)).toEqual(
      expect.arrayContaining(["actions/list-workflow-runs", "actions/list-workflow-run-artifacts", "actions/download-artifact", "issues/create-comment", "checks/create"]),
    );
    // (The report neutralises `#2` so GitHub does not link it to issue 2.)
    expect(server.state.comments(OWNER, REPO, 12)[0]?.body).toMatch(/Baseline: models\.yml run #\S*2 on main \(bbbbbbb\)/);

    // 4. The slower change merged anyway: the default branch's gate fails its regression check, yet its reports are the next baseline.
    const merged = await workflowRun("push", { head: sha(4), decodeCenterMs: 30 });
    expect(merged.run.status).toBe(1);
    expect(regressions(merged)).toEqual(["fail"]);
    expect(server.state.workflowRun(OWNER, REPO, merged.runId)?.conclusion).toBe("failure");
    const next = await workflowRun("pull_request", { head: sha(5), decodeCenterMs: 30, number: 13 });
    expect(next.run.status, next.run.stdout).toBe(0);
    expect(next.verdict.baseline).toEqual({ status: "found", source: `${WORKFLOW} run #4 on main (${sha(4).slice(0, 7)})` });
    expect(regressions(next)).toEqual(["pass"]);
  });

  it("a gate that sets require-baseline blocks while there is none yet, saying why", async () => {
    const ws = workspace(20);
    writeFileSync(join(ws, "project", "slmops.yaml"), MANIFEST.replace("confidence: 0.95 }", "confidence: 0.95, require-baseline: true }"));
    const r = await runAction({
      workspace: ws,
      inputs: { manifest: "project/slmops.yaml", "reports-dir": "bench-reports", baseline: "github", token: TOKEN, publish: "summary-only" },
      event: { name: "pull_request", payload: pullRequestPayload(sha(6), { number: 14 }) },
      env: { GITHUB_API_URL: server.url, GITHUB_REPOSITORY: `${OWNER}/fresh-repo`, GITHUB_SHA: sha(6), GITHUB_BASE_REF: "main", GITHUB_WORKFLOW_REF: `${OWNER}/fresh-repo/.github/workflows/${WORKFLOW}@refs/pull/14/merge` },
    });
    expect(r.status).toBe(1);
    expect(r.outputs.verdict).toBe("inconclusive");
    expect(r.stdout).toMatch(/no baseline to compare decode-latency-p50 with: main has no run of models\.yml that uploaded its device reports/);
    expect(r.stdout).toContain("::error::The gate is inconclusive");
  });
});
