import { getOctokit } from "@actions/github";
import { unzipSync } from "fflate";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadDescription } from "./description.js";
import { OperationIndex } from "./operations.js";
import { responseSchema } from "./responses.js";
import { startGitHubTestServer, type GitHubTestServer } from "./server.js";
import { SchemaValidator } from "./validator.js";

const owner = "acme";
const repo = "edge-models";
let server: GitHubTestServer;
let octokit: ReturnType<typeof getOctokit>;

beforeAll(async () => {
  server = await startGitHubTestServer({ token: "test-token" });
  octokit = getOctokit("test-token", { baseUrl: server.url });
});
afterAll(async () => {
  await server.close();
});

/** Violations recorded since the test began. */
let seen = 0;
function newViolations(): typeof server.violations {
  const fresh = server.violations.slice(seen);
  seen = server.violations.length;
  return fresh;
}
afterEach(() => {
  seen = server.violations.length;
});

describe("issue comments", () => {
  it("creates, lists with pagination, updates and reads back comments through octokit", async () => {
    const created = await octokit.rest.issues.createComment({ owner, repo, issue_number: 7, body: "first" });
    expect(created.status).toBe(201);
    expect(created.data.body).toBe("first");
    expect(created.data.user?.login).toBe("github-actions[bot]");
    for (let i = 0; i < 34; i++) await octokit.rest.issues.createComment({ owner, repo, issue_number: 7, body: `comment ${i}` });
    await octokit.rest.issues.createComment({ owner, repo, issue_number: 8, body: "other pull request" });

    const firstPage = await octokit.rest.issues.listComments({ owner, repo, issue_number: 7, per_page: 10 });
    expect(firstPage.data).toHaveLength(10);
    expect(firstPage.headers.link).toMatch(/rel="next".*rel="last"/);
    const all = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: 7, per_page: 10 });
    expect(all).toHaveLength(35);
    expect(new Set(all.map((c) => c.id)).size).toBe(35);

    const updated = await octokit.rest.issues.updateComment({ owner, repo, comment_id: created.data.id, body: "edited" });
    expect(updated.data.body).toBe("edited");
    const read = await octokit.rest.issues.getComment({ owner, repo, comment_id: created.data.id });
    expect(read.data.body).toBe("edited");
    expect(server.state.comments(owner, repo, 7)).toHaveLength(35);
    expect(newViolations(), server.describeViolations()).toEqual([]);
  });

  it("answers 404 for a comment that does not exist", async () => {
    await expect(octokit.rest.issues.updateComment({ owner, repo, comment_id: 999_999, body: "x" })).rejects.toMatchObject({ status: 404 });
    expect(newViolations()).toEqual([]);
  });
});

describe("check runs", () => {
  const annotation = (i: number) => ({ path: "slmops.yaml", start_line: i + 1, end_line: i + 1, annotation_level: "failure" as const, message: `problem ${i}` });

  it("creates and updates a check run, appending annotations per request", async () => {
    const created = await octokit.rest.checks.create({
      owner,
      repo,
      name: "slmops gate",
      head_sha: "a".repeat(40),
      status: "in_progress",
      output: { title: "Gate", summary: "running", annotations: Array.from({ length: 50 }, (_, i) => annotation(i)) },
    });
    expect(created.status).toBe(201);
    expect(created.data.status).toBe("in_progress");
    const updated = await octokit.rest.checks.update({
      owner,
      repo,
      check_run_id: created.data.id,
      conclusion: "failure",
      output: { title: "Gate", summary: "failed", annotations: [annotation(50)] },
    });
    expect(updated.data.status).toBe("completed");
    expect(updated.data.conclusion).toBe("failure");
    expect(updated.data.output.annotations_count).toBe(51);
    const listed = await octokit.paginate(octokit.rest.checks.listAnnotations, { owner, repo, check_run_id: created.data.id, per_page: 100 });
    expect(listed.map((a) => a.message)).toEqual(Array.from({ length: 51 }, (_, i) => `problem ${i}`));
    expect(server.state.checkRun(owner, repo, created.data.id)!.annotationBatches).toEqual([50, 1]);
    expect(newViolations(), server.describeViolations()).toEqual([]);
  });

  it("refuses more than 50 annotations in one request, as GitHub does", async () => {
    const request = octokit.rest.checks.create({
      owner,
      repo,
      name: "too many",
      head_sha: "b".repeat(40),
      output: { title: "t", summary: "s", annotations: Array.from({ length: 51 }, (_, i) => annotation(i)) },
    });
    await expect(request).rejects.toMatchObject({ status: 422 });
    const [violation, ...rest] = newViolations();
    expect(rest).toEqual([]);
    expect(violation).toMatchObject({ kind: "invalid-request", operationId: "checks/create" });
    expect(violation!.problems.join("\n")).toMatch(/\/output\/annotations: must NOT have more than 50 items/);
  });

  it("refuses an annotation level GitHub does not know", async () => {
    const request = octokit.request("POST /repos/{owner}/{repo}/check-runs" as string, {
      owner,
      repo,
      name: "bad",
      head_sha: "c".repeat(40),
      output: { title: "t", summary: "s", annotations: [{ ...annotation(0), annotation_level: "error" }] },
    });
    await expect(request).rejects.toMatchObject({ status: 422 });
    expect(newViolations()[0]!.problems.join("\n")).toMatch(/annotation_level: must be equal to one of the allowed values/);
  });
});

describe("workflow runs and artifacts", () => {
  it("lists successful runs of a workflow on a branch, newest first, and downloads an artifact", async () => {
    server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", conclusion: "success", artifacts: [{ name: "slmops-reports", files: { "rpi5.json": '{"device":"rpi5"}' } }] });
    server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", conclusion: "success", artifacts: [{ name: "slmops-reports", files: { "rpi5.json": '{"device":"rpi5","n":2}' } }, { name: "logs", files: { "log.txt": "x" } }] });
    server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", conclusion: "failure" });
    server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "feature", conclusion: "success" });
    server.state.addWorkflowRun(owner, repo, { workflowFile: "other.yml", headBranch: "main", conclusion: "success" });

    const runs = await octokit.rest.actions.listWorkflowRuns({ owner, repo, workflow_id: "bench.yml", branch: "main", status: "success", per_page: 10 });
    expect(runs.data.total_count).toBe(2);
    const latest = runs.data.workflow_runs[0]!;
    expect(latest.head_branch).toBe("main");
    expect(latest.conclusion).toBe("success");

    const artifacts = await octokit.rest.actions.listWorkflowRunArtifacts({ owner, repo, run_id: latest.id, name: "slmops-reports" });
    expect(artifacts.data.artifacts.map((a) => a.name)).toEqual(["slmops-reports"]);
    const download = await octokit.rest.actions.downloadArtifact({ owner, repo, artifact_id: artifacts.data.artifacts[0]!.id, archive_format: "zip" });
    const files = unzipSync(new Uint8Array(download.data as ArrayBuffer));
    expect(new TextDecoder().decode(files["rpi5.json"])).toBe('{"device":"rpi5","n":2}');
    expect(newViolations(), server.describeViolations()).toEqual([]);
  });

  it("a run in progress is not listed as completed until it ends; an artifact uploaded meanwhile is listed with it", async () => {
    const run = server.state.addWorkflowRun(owner, "running", { workflowFile: "bench.yml", headBranch: "main", status: "in_progress", conclusion: null });
    const completed = () => octokit.rest.actions.listWorkflowRuns({ owner, repo: "running", workflow_id: "bench.yml", branch: "main", status: "completed" });
    expect((await completed()).data.total_count).toBe(0);
    server.state.uploadArtifact(owner, "running", run.id, { name: "slmops-reports", files: { "rpi5.json": "{}" } });
    server.state.completeWorkflowRun(owner, "running", run.id, "failure");
    const listed = (await completed()).data.workflow_runs;
    expect(listed.map((r) => [r.id, r.status, r.conclusion])).toEqual([[run.id, "completed", "failure"]]);
    const artifacts = await octokit.rest.actions.listWorkflowRunArtifacts({ owner, repo: "running", run_id: run.id });
    expect(artifacts.data.artifacts.map((a) => [a.name, a.workflow_run?.id])).toEqual([["slmops-reports", run.id]]);
    expect(newViolations(), server.describeViolations()).toEqual([]);
  });

  it("answers 404 for an unknown workflow file", async () => {
    await expect(octokit.rest.actions.listWorkflowRuns({ owner, repo, workflow_id: "missing.yml" })).rejects.toMatchObject({ status: 404 });
    expect(newViolations()).toEqual([]);
  });
});

describe("pull requests", () => {
  it("answers a pull request with its head commit and head repository (a fork's too)", async () => {
    server.state.addPullRequest(owner, repo, { number: 7, headSha: "a".repeat(40) });
    server.state.addPullRequest(owner, repo, { number: 8, headSha: "b".repeat(40), headRepository: "someone/edge-models", headRef: "tweak" });
    const same = await octokit.rest.pulls.get({ owner, repo, pull_number: 7 });
    expect(same.data).toMatchObject({ number: 7, state: "open", head: { sha: "a".repeat(40), repo: { full_name: `${owner}/${repo}` } }, base: { ref: "main", repo: { full_name: `${owner}/${repo}` } } });
    const fork = await octokit.rest.pulls.get({ owner, repo, pull_number: 8 });
    expect(fork.data.head).toMatchObject({ sha: "b".repeat(40), ref: "tweak", label: "someone:tweak", repo: { full_name: "someone/edge-models", owner: { login: "someone" } } });
    await expect(octokit.rest.pulls.get({ owner, repo, pull_number: 10 })).rejects.toMatchObject({ status: 404 });
    expect(newViolations(), server.describeViolations()).toEqual([]);
  });
});

describe("request validation", () => {
  it("records a route that is not in GitHub's description", async () => {
    await expect(octokit.request("GET /repos/{owner}/{repo}/no-such-thing", { owner, repo })).rejects.toMatchObject({ status: 404 });
    expect(newViolations()).toEqual([expect.objectContaining({ kind: "unknown-route", path: `/repos/${owner}/${repo}/no-such-thing` })]);
  });

  it("records a method a path does not have", async () => {
    await expect(octokit.request("DELETE /repos/{owner}/{repo}/check-runs", { owner, repo })).rejects.toMatchObject({ status: 404 });
    expect(newViolations()[0]!.problems[0]).toMatch(/DELETE is not an operation of .* \(it has POST\)/);
  });

  it("records invalid path parameters, unknown query parameters and missing body fields", async () => {
    await expect(octokit.request("GET /repos/{owner}/{repo}/issues/{issue_number}/comments" as string, { owner, repo, issue_number: "seven" })).rejects.toMatchObject({ status: 422 });
    await expect(octokit.request("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", { owner, repo, issue_number: 1, sort: "created" })).rejects.toMatchObject({ status: 422 });
    await expect(octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments" as string, { owner, repo, issue_number: 1, text: "wrong field" })).rejects.toMatchObject({ status: 422 });
    const problems = newViolations().map((v) => v.problems.join(" | "));
    expect(problems[0]).toMatch(/path parameter "issue_number" = "seven": must be integer/);
    expect(problems[1]).toMatch(/query parameter "sort" is not a parameter of issues\/list-comments/);
    expect(problems[2]).toMatch(/body \(root\): must have required property 'body'/);
  });

  it("records a request without valid credentials", async () => {
    const anonymous = getOctokit("wrong-token", { baseUrl: server.url });
    await expect(anonymous.rest.issues.listComments({ owner, repo, issue_number: 1 })).rejects.toMatchObject({ status: 401 });
    expect(newViolations()[0]!.kind).toBe("unauthenticated");
  });

  it("records a body that is not JSON, and one over the size limit", async () => {
    const response = await fetch(`${server.url}/repos/${owner}/${repo}/issues/1/comments`, {
      method: "POST",
      headers: { authorization: "token test-token", "content-type": "application/json" },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    expect(newViolations()[0]!.problems).toEqual(["the request body is not valid JSON"]);

    const small = await startGitHubTestServer({ maxBodyBytes: 100 });
    try {
      const client = getOctokit("any", { baseUrl: small.url });
      await expect(client.rest.issues.createComment({ owner, repo, issue_number: 1, body: "x".repeat(200) })).rejects.toMatchObject({ status: 413 });
      expect(small.violations.map((v) => v.kind)).toEqual(["request-too-large"]);
    } finally {
      await small.close();
    }
  });

  it("records a valid operation the server does not implement", async () => {
    await expect(octokit.rest.repos.get({ owner, repo })).rejects.toMatchObject({ status: 501 });
    expect(newViolations()[0]).toMatchObject({ kind: "unimplemented", operationId: "repos/get" });
  });
});

describe("response validation", () => {
  const doc = loadDescription();
  const index = new OperationIndex(doc);
  const validator = new SchemaValidator(doc);

  it("checks responses against the operation's schema, nullable fields included", () => {
    const operation = index.match("POST", "/repos/o/r/check-runs")!.operation;
    const schema = responseSchema(doc, operation, 201);
    const valid = server.requests.find((r) => r.operationId === "checks/create" && r.status === 201);
    expect(valid).toBeDefined();
    expect(validator.validate("t1", schema, { id: 1 })).toEqual(expect.arrayContaining([expect.stringMatching(/must have required property 'head_sha'/)]));
  });

  it("records a response of the server that does not match the description", async () => {
    const run = server.state.addWorkflowRun(owner, repo, { workflowFile: "broken.yml", headBranch: 42 as unknown as string });
    const response = await octokit.rest.actions.getWorkflowRun({ owner, repo, run_id: run.id });
    expect(response.status).toBe(200);
    const [violation] = newViolations();
    expect(violation).toMatchObject({ kind: "invalid-response", operationId: "actions/get-workflow-run" });
    expect(violation!.problems).toContain("response 200 /head_branch: must be string,null");
  });

  it("accepts null where the description says nullable, and rejects it elsewhere", async () => {
    const operation = index.match("GET", "/repos/o/r/check-runs/1")!.operation;
    const schema = responseSchema(doc, operation, 200);
    const run = await octokit.rest.checks.create({ owner, repo, name: "n", head_sha: "d".repeat(40) });
    const body = (await octokit.rest.checks.get({ owner, repo, check_run_id: run.data.id })).data;
    expect(body.conclusion).toBeNull();
    expect(validator.validate("t2", schema, body)).toEqual([]);
    expect(validator.validate("t2", schema, { ...body, name: null })).toEqual(["/name: must be string"]);
    expect(newViolations()).toEqual([]);
  });
});
