/**
 * What a workflow run is about, read from its webhook event payload: a pull
 * request (with the commits to compare and whether it comes from a fork), a
 * push, or something without a change to compare. The payload is untrusted
 * input: every value used later (commit ids above all, which reach `git`) is
 * checked here.
 */

/** A pull request: compare its base and head, and treat a fork's code as untrusted. */
export interface PullRequestEvent {
  readonly kind: "pull-request";
  readonly number: number;
  /** The base branch's commit the pull request was opened or updated against. */
  readonly baseSha: string;
  /** The pull request's head commit. */
  readonly headSha: string;
  /** The base branch's name, e.g. `main`. */
  readonly baseRef: string;
  /** `owner/name` of the head repository; null when the fork was deleted. */
  readonly headRepo: string | null;
  /** `owner/name` of the base repository. */
  readonly baseRepo: string;
  /** True when the head is in another repository (or a deleted one): a fork, whose code is untrusted. */
  readonly fromFork: boolean;
}

/** A push, or a merge queue group: compare `before` with `after`. */
export interface PushEvent {
  readonly kind: "push";
  /** Null when there is nothing before (a new branch or tag): no change can be computed. */
  readonly before: string | null;
  /** Null when the ref was deleted. */
  readonly after: string | null;
}

/** Any other event (workflow_dispatch, schedule …): no change to compare. */
export interface OtherEvent {
  readonly kind: "other";
  readonly name: string;
}

export type ChangeEvent = PullRequestEvent | PushEvent | OtherEvent;

/** A payload that does not have the shape its event name promises. */
export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidEventError";
  }
}

const PULL_REQUEST_EVENTS = new Set(["pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment"]);
const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const NULL_COMMIT = /^0+$/;
/** Repository names as GitHub allows them: `owner/name`. */
const REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
/** Git ref names, bounded; enough to reject control characters and absurd lengths. */
const REF = /^[^\0-\x20\x7f~^:?*[\\]{1,255}$/;

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function commit(value: unknown, where: string): string {
  if (typeof value !== "string" || !COMMIT.test(value)) {
    throw new InvalidEventError(`${where} is not a commit id (40 or 64 lowercase hex digits)`);
  }
  return value;
}

function optionalCommit(value: unknown, where: string): string | null {
  if (value === null || value === undefined) return null;
  const sha = commit(value, where);
  return NULL_COMMIT.test(sha) ? null : sha;
}

function repoName(value: unknown, where: string): string {
  const repo = record(value);
  const name = repo?.full_name;
  if (typeof name !== "string" || !REPO.test(name)) throw new InvalidEventError(`${where}.full_name is not an owner/name repository name`);
  return name;
}

/**
 * Reads the event a workflow run was triggered by (`GITHUB_EVENT_NAME` and
 * the parsed `GITHUB_EVENT_PATH` file). A pull request comes from a fork when
 * its head repository differs from its base repository, or is gone (a
 * deleted fork), as GitHub itself decides. Throws {@link InvalidEventError}
 * when the payload lacks what its event name promises.
 */
export function readChangeEvent(eventName: string, payload: unknown): ChangeEvent {
  const body = record(payload);
  if (!body) throw new InvalidEventError(`the ${eventName} event payload is not a JSON object`);
  if (PULL_REQUEST_EVENTS.has(eventName)) {
    const pr = record(body.pull_request);
    if (!pr) throw new InvalidEventError(`the ${eventName} event payload has no pull_request object`);
    const number = pr.number;
    if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 1) {
      throw new InvalidEventError("pull_request.number is not a positive whole number");
    }
    const base = record(pr.base);
    const head = record(pr.head);
    if (!base || !head) throw new InvalidEventError("pull_request has no base or head");
    const baseRef = base.ref;
    if (typeof baseRef !== "string" || !REF.test(baseRef)) throw new InvalidEventError("pull_request.base.ref is not a branch name");
    const baseRepo = repoName(base.repo, "pull_request.base.repo");
    const headRepo = head.repo === null || head.repo === undefined ? null : repoName(head.repo, "pull_request.head.repo");
    return {
      kind: "pull-request",
      number,
      baseSha: commit(base.sha, "pull_request.base.sha"),
      headSha: commit(head.sha, "pull_request.head.sha"),
      baseRef,
      headRepo,
      baseRepo,
      fromFork: headRepo === null || headRepo !== baseRepo,
    };
  }
  if (eventName === "push") {
    return { kind: "push", before: optionalCommit(body.before, "before"), after: optionalCommit(body.after, "after") };
  }
  if (eventName === "merge_group") {
    const group = record(body.merge_group);
    if (!group) throw new InvalidEventError("the merge_group event payload has no merge_group object");
    return { kind: "push", before: optionalCommit(group.base_sha, "merge_group.base_sha"), after: optionalCommit(group.head_sha, "merge_group.head_sha") };
  }
  return { kind: "other", name: eventName };
}

/** The two commits whose difference is the change, or undefined when the event has none. */
export function changeRange(event: ChangeEvent): { readonly base: string; readonly head: string } | undefined {
  if (event.kind === "pull-request") return { base: event.baseSha, head: event.headSha };
  if (event.kind === "push" && event.before !== null && event.after !== null) return { base: event.before, head: event.after };
  return undefined;
}
