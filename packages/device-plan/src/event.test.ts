import { describe, expect, it } from "vitest";
import { changeRange, InvalidEventError, readChangeEvent } from "./event.js";
import { webhookExample } from "./test-support/manifests.js";

describe("readChangeEvent", () => {
  it("reads a real pull_request payload", () => {
    const event = readChangeEvent("pull_request", webhookExample("pull_request", "opened"));
    expect(event).toEqual({
      kind: "pull-request",
      number: 2,
      baseSha: expect.stringMatching(/^[0-9a-f]{40}$/),
      headSha: expect.stringMatching(/^[0-9a-f]{40}$/),
      baseRef: "master",
      headRepo: "Codertocat/Hello-World",
      baseRepo: "Codertocat/Hello-World",
      fromFork: false,
    });
  });

  it("reads real push payloads; a new branch has nothing before it", () => {
    const push = webhookExample("push");
    const event = readChangeEvent("push", push);
    expect(event.kind).toBe("push");
    if (push.before === "0000000000000000000000000000000000000000") {
      expect(event).toMatchObject({ before: null });
      expect(changeRange(event)).toBeUndefined();
    }
    const later = { ...push, before: "6113728f27ae82c7b1a177c8d03f9e96e0adf246", after: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e" };
    expect(changeRange(readChangeEvent("push", later))).toEqual({ base: later.before, head: later.after });
  });

  it("reads a merge group as a push from its base to its head", () => {
    const base = "a".repeat(40);
    const head = "b".repeat(40);
    expect(changeRange(readChangeEvent("merge_group", { merge_group: { base_sha: base, head_sha: head } }))).toEqual({ base, head });
  });

  it("other events have no change", () => {
    const event = readChangeEvent("workflow_dispatch", { inputs: {} });
    expect(event).toEqual({ kind: "other", name: "workflow_dispatch" });
    expect(changeRange(event)).toBeUndefined();
  });

  it("refuses payloads that do not have the promised shape, before anything reaches git", () => {
    const pr = webhookExample("pull_request", "opened");
    const withSha = (sha: unknown) => {
      const copy = structuredClone(pr) as { pull_request: { base: { sha: unknown } } };
      copy.pull_request.base.sha = sha;
      return copy;
    };
    expect(() => readChangeEvent("pull_request", withSha("--output=/etc/passwd"))).toThrow(InvalidEventError);
    expect(() => readChangeEvent("pull_request", withSha("HEAD~1"))).toThrow(/pull_request\.base\.sha is not a commit id/);
    expect(() => readChangeEvent("pull_request", withSha(42))).toThrow(InvalidEventError);
    expect(() => readChangeEvent("pull_request", [])).toThrow(/not a JSON object/);
    expect(() => readChangeEvent("pull_request", { action: "opened" })).toThrow(/no pull_request object/);
    const badRepo = structuredClone(pr) as { pull_request: { head: { repo: { full_name: string } } } };
    badRepo.pull_request.head.repo.full_name = "../../x";
    expect(() => readChangeEvent("pull_request", badRepo)).toThrow(/head\.repo\.full_name/);
    expect(() => readChangeEvent("push", { before: "xyz", after: "a".repeat(40) })).toThrow(/before is not a commit id/);
  });
});
