import { zipFiles } from "@slmops/github-test-server";
import { zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { findBaseline } from "./baseline.js";
import { useGitHubServer } from "./test-support/server.js";

const gh = useGitHubServer();
const owner = "acme";

const decode = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

describe("findBaseline", () => {
  it("finds the last successful run on the base branch and its report artifact", async () => {
    const repo = "found";
    const reports = (n: number) => ({ "reports/rpi5.json": JSON.stringify({ device: "rpi5", n }) });
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", artifacts: [{ name: "slmops-reports", files: reports(1) }] });
    const latest = gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", headSha: "feedface".repeat(5), artifacts: [{ name: "slmops-reports", files: reports(2) }] });
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", conclusion: "failure", artifacts: [{ name: "slmops-reports", files: reports(3) }] });
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "feature", artifacts: [{ name: "slmops-reports", files: reports(4) }] });

    const result = await findBaseline(gh.client, { owner, repo, workflow: "bench.yml", branch: "main", artifactName: "slmops-reports" });
    expect(result.status).toBe("found");
    if (result.status !== "found") return;
    expect(result.run.id).toBe(latest.id);
    expect(result.source).toBe("bench.yml run #2 on main (feedfac)");
    expect(JSON.parse(decode(result.files.get("reports/rpi5.json")))).toEqual({ device: "rpi5", n: 2 });
    expect(gh.server.violations, gh.server.describeViolations()).toEqual([]);
  });

  it("says plainly that there is no baseline when the branch has no successful run", async () => {
    const repo = "no-success";
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", conclusion: "failure" });
    const result = await findBaseline(gh.client, { owner, repo, workflow: "bench.yml", branch: "main", artifactName: "slmops-reports" });
    expect(result).toEqual({ status: "missing", reason: "no successful run of bench.yml on main yet" });
  });

  it("says so when the workflow does not exist", async () => {
    const result = await findBaseline(gh.client, { owner, repo: "empty", workflow: "bench.yml", branch: "main", artifactName: "slmops-reports" });
    expect(result).toEqual({ status: "missing", reason: "the workflow bench.yml was not found in acme/empty" });
  });

  it("looks back past a run whose artifact expired, and explains when none is usable", async () => {
    const repo = "expired";
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", artifacts: [{ name: "slmops-reports", files: { "a.json": "{}" } }] });
    gh.server.state.addWorkflowRun(owner, repo, { workflowFile: "bench.yml", headBranch: "main", artifacts: [{ name: "slmops-reports", files: { "b.json": "{}" }, expired: true }] });
    const older = await findBaseline(gh.client, { owner, repo, workflow: "bench.yml", branch: "main", artifactName: "slmops-reports" });
    expect(older.status === "found" && older.run.runNumber).toBe(1);
    const none = await findBaseline(gh.client, { owner, repo, workflow: "bench.yml", branch: "main", artifactName: "slmops-reports", lookBack: 1 });
    expect(none).toEqual({ status: "missing", reason: 'the last 1 successful run(s) of bench.yml on main have no usable artifact "slmops-reports" (#2 has only an expired artifact "slmops-reports")' });
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
