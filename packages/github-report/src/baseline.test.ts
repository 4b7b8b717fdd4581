import { zipFiles } from "@slmops/github-test-server";
import { zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { findBaseline } from "./baseline.js";
import { useGitHubServer } from "./test-support/server.js";

const gh = useGitHubServer();
const owner = "acme";

const decode = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

describe("findBaseline", () => {
  it("takes the last completed run on the base branch that uploaded the reports, whatever its gate concluded", async () => {
    const repo = "found";
    const reports = (n: number) => ({ "reports/rpi5.json": JSON.stringify({ device: "rpi5", n }) });
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", artifacts: [{ name: "slmops-reports", files: reports(1) }] });
    const latest = gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", headSha: "feedface".repeat(5), conclusion: "failure", artifacts: [{ name: "slmops-reports", files: reports(2) }] });
    // Not a baseline: a run that uploaded nothing, a pull request's run from a fork's branch of the same name, a run still going, another branch.
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", conclusion: "failure" });
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", event: "pull_request", artifacts: [{ name: "slmops-reports", files: reports(3) }] });
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", status: "in_progress", conclusion: null, artifacts: [{ name: "slmops-reports", files: reports(4) }] });
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "feature", artifacts: [{ name: "slmops-reports", files: reports(5) }] });

    const result = await findBaseline(gh.client, { owner, repo, workflow: "bench.yml", branch: "main", artifactName: "slmops-reports" });
    expect(result.status).toBe("found");
    if (result.status !== "found") return;
    expect(result.run).toMatchObject({ id: latest.id, conclusion: "failure" });
    expect(result.source).toBe("bench.yml run #2 on main (feedfac)");
    expect(JSON.parse(decode(result.files.get("reports/rpi5.json")))).toEqual({ device: "rpi5", n: 2 });
    expect(gh.server.violations, gh.server.describeViolations()).toEqual([]);
  });

  it("never takes the asking run's own reports", async () => {
    const repo = "self";
    const older = gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", artifacts: [{ name: "slmops-reports", files: { "a.json": "{}" } }] });
    const current = gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", artifacts: [{ name: "slmops-reports", files: { "b.json": "{}" } }] });
    const result = await findBaseline(gh.client, { owner, repo, workflow: "bench.yml", branch: "main", artifactName: "slmops-reports", excludeRunId: current.id });
    expect(result.status === "found" && result.run.id).toBe(older.id);
  });

  it("says there is no baseline yet when no run of the branch uploaded the reports", async () => {
    const repo = "none-yet";
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", conclusion: "failure" });
    const result = await findBaseline(gh.client, { owner, repo, workflow: "bench.yml", branch: "main", artifactName: "slmops-reports" });
    expect(result).toEqual({ status: "missing", noneYet: true, reason: 'main has no run of bench.yml that uploaded its device reports (artifact "slmops-reports") (#1 has no artifact "slmops-reports")' });
    const other = await findBaseline(gh.client, { owner, repo, workflow: "bench.yml", branch: "release", artifactName: "slmops-reports" });
    expect(other).toEqual({ status: "missing", noneYet: true, reason: 'release has no run of bench.yml that uploaded its device reports (artifact "slmops-reports")' });
    expect(gh.server.violations, gh.server.describeViolations()).toEqual([]);
  });

  it("says there is no baseline yet when the workflow has never run (the pull request that adds it)", async () => {
    const result = await findBaseline(gh.client, { owner, repo: "empty", workflow: "bench.yml", branch: "main", artifactName: "slmops-reports" });
    expect(result).toEqual({ status: "missing", noneYet: true, reason: 'main has no run of bench.yml that uploaded its device reports (artifact "slmops-reports"): the workflow has not run in acme/empty yet' });
  });

  it("looks back past a run whose artifact expired, and when none is usable says how to make a new baseline", async () => {
    const repo = "expired";
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", artifacts: [{ name: "slmops-reports", files: { "a.json": "{}" } }] });
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", artifacts: [{ name: "slmops-reports", files: { "b.json": "{}" }, expired: true }] });
    const older = await findBaseline(gh.client, { owner, repo, workflow: "bench.yml", branch: "main", artifactName: "slmops-reports" });
    expect(older.status === "found" && older.run.runNumber).toBe(1);
    const none = await findBaseline(gh.client, { owner, repo, workflow: "bench.yml", branch: "main", artifactName: "slmops-reports", lookBack: 1 });
    expect(none).toEqual({
      status: "missing",
      reason: 'the last 1 completed run(s) of bench.yml on main have no usable artifact "slmops-reports" (#2 has only an expired artifact "slmops-reports"); run the workflow on main again to publish a new baseline',
    });
    expect(gh.server.violations, gh.server.describeViolations()).toEqual([]);
  });

  it("refuses a tampered artifact with an unsafe path", async () => {
    const repo = "tampered";
    const zip = zipSync({ "../../etc/evil.json": new TextEncoder().encode("{}") });
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", artifacts: [{ name: "slmops-reports", zip }] });
    await expect(findBaseline(gh.client, { owner, repo, workflow: "bench.yml", branch: "main", artifactName: "slmops-reports" })).rejects.toThrow(
      expect.objectContaining({ name: "ConfigurationError", message: expect.stringMatching(/unsafe path "\.\.\/\.\.\/etc\/evil\.json"/) }),
    );
  });

  it("refuses an artifact larger than the limits", async () => {
    const repo = "large";
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", artifacts: [{ name: "slmops-reports", zip: zipFiles({ "big.json": "x".repeat(10_000) }) }] });
    await expect(findBaseline(gh.client, { owner, repo, workflow: "bench.yml", branch: "main", artifactName: "slmops-reports", limits: { maxTotalBytes: 1000 } })).rejects.toThrow(
      /files add up to more than 1000 bytes/,
    );
  });
});
