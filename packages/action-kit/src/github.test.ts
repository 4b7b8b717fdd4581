import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const githubUrl = pathToFileURL(join(import.meta.dirname, "..", "dist", "github.js")).href;

/** Runs currentPullRequest() in a real process with the event file and variables a runner provides. */
function pullRequestFor(eventName: string, payload: unknown): unknown {
  const dir = mkdtempSync(join(tmpdir(), "gh-event-"));
  const event = join(dir, "event.json");
  writeFileSync(event, JSON.stringify(payload));
  const script = join(dir, "script.mjs");
  writeFileSync(script, `import { currentPullRequest } from ${JSON.stringify(githubUrl)};\nconsole.log(JSON.stringify(currentPullRequest() ?? null));\n`);
  const r = spawnSync(process.execPath, [script], {
    encoding: "utf8",
    env: { ...process.env, GITHUB_EVENT_NAME: eventName, GITHUB_EVENT_PATH: event, GITHUB_REPOSITORY: "acme/models", GITHUB_SHA: "f".repeat(40) },
  });
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as unknown;
}

const pr = (head: string | null) => ({
  pull_request: {
    number: 42,
    head: { sha: "a".repeat(40), repo: head === null ? null : { full_name: head } },
    base: { repo: { full_name: "acme/models" } },
  },
});

describe("currentPullRequest", { timeout: 60_000 }, () => {
  it("describes a same-repository pull request", () => {
    expect(pullRequestFor("pull_request", pr("acme/models"))).toEqual({
      owner: "acme",
      repo: "models",
      number: 42,
      headSha: "a".repeat(40),
      fromFork: false,
    });
  });

  it("flags a pull request from a fork, or from a deleted fork", () => {
    expect(pullRequestFor("pull_request", pr("mallory/models"))).toMatchObject({ fromFork: true });
    expect(pullRequestFor("pull_request_target", pr(null))).toMatchObject({ fromFork: true });
  });

  it("is undefined for events that are not about a pull request", () => {
    expect(pullRequestFor("push", { ref: "refs/heads/main" })).toBeNull();
    expect(pullRequestFor("pull_request", {})).toBeNull();
  });
});
