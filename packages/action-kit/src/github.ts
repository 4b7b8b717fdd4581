import * as github from "@actions/github";

/**
 * The GitHub side of an action: who triggered it and an authenticated client.
 * A separate entry point (`@slmops/action-kit/github`) so actions that do not
 * talk to the API do not bundle a REST client.
 */

/** The pull request a workflow run is about. */
export interface PullRequestRef {
  readonly owner: string;
  readonly repo: string;
  readonly number: number;
  /** Commit the run checks out for this pull request. */
  readonly headSha: string;
  /**
   * True when the pull request comes from another repository (a fork): its
   * code is untrusted and must not run on self-hosted machines by default.
   */
  readonly fromFork: boolean;
}

const PULL_REQUEST_EVENTS = new Set(["pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment"]);

/** The run's pull request, or undefined when the event is not about one. */
export function currentPullRequest(context: typeof github.context = github.context): PullRequestRef | undefined {
  if (!PULL_REQUEST_EVENTS.has(context.eventName)) return undefined;
  const pr = context.payload.pull_request as
    | { number?: unknown; head?: { sha?: unknown; repo?: { full_name?: unknown } | null }; base?: { repo?: { full_name?: unknown } } }
    | undefined;
  if (!pr || typeof pr.number !== "number") return undefined;
  const headRepo = pr.head?.repo?.full_name;
  const baseRepo = pr.base?.repo?.full_name;
  const { owner, repo } = context.repo;
  return {
    owner,
    repo,
    number: pr.number,
    headSha: typeof pr.head?.sha === "string" ? pr.head.sha : context.sha,
    // A deleted fork has no head repository: treat it as a fork.
    fromFork: typeof headRepo !== "string" || headRepo !== (typeof baseRepo === "string" ? baseRepo : `${owner}/${repo}`),
  };
}

/** An authenticated REST/GraphQL client for the token (usually the `github-token` input). */
export function octokit(token: string): ReturnType<typeof github.getOctokit> {
  return github.getOctokit(token);
}
