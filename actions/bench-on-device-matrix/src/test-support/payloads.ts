import { createRequire } from "node:module";

interface WebhookExample {
  readonly name: string;
  readonly examples: readonly Record<string, unknown>[];
}

/** A real webhook payload collected by @octokit/webhooks-examples (a copy). */
export function webhookExample(event: string, action?: string): Record<string, unknown> {
  const all = createRequire(import.meta.url)("@octokit/webhooks-examples") as readonly WebhookExample[];
  const found = all.find((e) => e.name === event)?.examples.find((e) => action === undefined || e.action === action);
  if (!found) throw new Error(`no ${event}${action ? `.${action}` : ""} example in @octokit/webhooks-examples`);
  return structuredClone(found);
}

interface PullRequestPayload {
  pull_request: { base: { sha: string }; head: { sha: string; label: string; repo: { full_name: string; name: string; owner: { login: string }; fork: boolean } } };
}

/** The real payload pointed at two commits of a test repository, optionally as from a fork. */
export function pullRequestPayload(base: string, head: string, options: { fork?: boolean; action?: string } = {}): Record<string, unknown> {
  const payload = webhookExample("pull_request", options.action ?? "synchronize") as unknown as PullRequestPayload;
  payload.pull_request.base.sha = base;
  payload.pull_request.head.sha = head;
  if (options.fork) {
    const repo = payload.pull_request.head.repo;
    repo.full_name = `forker/${repo.name}`;
    repo.owner.login = "forker";
    repo.fork = true;
    payload.pull_request.head.label = "forker:topic";
  }
  return payload as unknown as Record<string, unknown>;
}
