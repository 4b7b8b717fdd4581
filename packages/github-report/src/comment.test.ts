import { describe, expect, it } from "vitest";
import { MAX_COMMENT_LENGTH, REPORT_MARKER, upsertReportComment } from "./comment.js";
import { useGitHubServer } from "./test-support/server.js";

const gh = useGitHubServer();
const owner = "acme";
const repo = "edge-models";

describe("upsertReportComment", () => {
  it("creates the comment once, then updates it in place on every push", async () => {
    const first = await upsertReportComment(gh.client, { owner, repo, issueNumber: 3, body: "## report v1" });
    expect(first.action).toBe("created");
    const second = await upsertReportComment(gh.client, { owner, repo, issueNumber: 3, body: "## report v2" });
    const third = await upsertReportComment(gh.client, { owner, repo, issueNumber: 3, body: "## report v3" });
    expect([second.action, third.action]).toEqual(["updated", "updated"]);
    expect(third.commentId).toBe(first.commentId);
    const comments = gh.server.state.comments(owner, repo, 3);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toBe(`${REPORT_MARKER}\n## report v3`);
    expect(gh.server.requests.filter((r) => r.operationId === "issues/create-comment")).toHaveLength(1);
    expect(gh.server.violations, gh.server.describeViolations()).toEqual([]);
  });

  it("finds its comment behind several pages of other comments", async () => {
    for (let i = 0; i < 130; i++) gh.server.state.addComment(owner, repo, 4, `discussion ${i}`);
    const first = await upsertReportComment(gh.client, { owner, repo, issueNumber: 4, body: "v1" });
    for (let i = 0; i < 30; i++) gh.server.state.addComment(owner, repo, 4, `more ${i}`);
    const second = await upsertReportComment(gh.client, { owner, repo, issueNumber: 4, body: "v2" });
    expect(second).toMatchObject({ action: "updated", commentId: first.commentId });
    expect(gh.server.state.comments(owner, repo, 4).filter((c) => c.body.startsWith(REPORT_MARKER))).toHaveLength(1);
    const pages = gh.server.requests.filter((r) => r.operationId === "issues/list-comments" && r.url.includes("/issues/4/"));
    expect(pages.length).toBeGreaterThanOrEqual(2 + 2);
    expect(gh.server.violations, gh.server.describeViolations()).toEqual([]);
  });

  it("ignores a marker quoted by someone else when an author is given", async () => {
    gh.server.state.addComment(owner, repo, 5, `${REPORT_MARKER}\nquoted by a person`);
    const result = await upsertReportComment(gh.client, { owner, repo, issueNumber: 5, body: "report", author: "github-actions[bot]" });
    expect(result.action).toBe("created");
    expect(gh.server.state.comments(owner, repo, 5).map((c) => c.body)).toEqual([`${REPORT_MARKER}\nquoted by a person`, `${REPORT_MARKER}\nreport`]);
  });

  it("refuses a body GitHub would reject, before calling it", async () => {
    const before = gh.server.requests.length;
    await expect(upsertReportComment(gh.client, { owner, repo, issueNumber: 6, body: "x".repeat(MAX_COMMENT_LENGTH) })).rejects.toThrow(/at most 65536/);
    expect(gh.server.requests.length).toBe(before);
  });
});
