import { createRequire } from "node:module";

interface WebhookExample {
  readonly name: string;
  readonly examples: readonly Record<string, unknown>[];
}

/** A copy of a real webhook payload collected by @octokit/webhooks-examples. */
export function webhookExample(event: string, action?: string): Record<string, unknown> {
  const all = createRequire(import.meta.url)("@octokit/webhooks-examples") as readonly WebhookExample[];
  const found = all.find((e) => e.name === event)?.examples.find((e) => action === undefined || e.action === action);
  if (!found) throw new Error(`no ${event}${action ? `.${action}` : ""} example in @octokit/webhooks-examples`);
  return structuredClone(found);
}

/** The repository of the pull_request example. */
export const OWNER = "Codertocat";
export const REPO = "Hello-World";

interface PullRequestPayload {
  number: number;
  pull_request: { number: number; base: { ref: string }; head: { sha: string; label: string; repo: { full_name: string; name: string; owner: { login: string }; fork: boolean } } };
}

/** The real `pull_request.synchronize` payload at a head commit, optionally from a fork. */
export function pullRequestPayload(head: string, options: { fork?: boolean; number?: number } = {}): Record<string, unknown> {
  const payload = webhookExample("pull_request", "synchronize") as unknown as PullRequestPayload;
  if (options.number !== undefined) payload.number = payload.pull_request.number = options.number;
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

interface WorkflowRunPayload {
  workflow_run: { id: number; head_sha: string; event: string; html_url: string; pull_requests: unknown[]; head_repository: { full_name: string } };
}

/** The real `workflow_run.completed` payload for a run of a fork's pull request (GitHub lists no pull requests for those). */
export function workflowRunPayload(runId: number, headSha: string, headRepository = `forker/${REPO}`): Record<string, unknown> {
  const payload = webhookExample("workflow_run", "completed") as unknown as WorkflowRunPayload;
  payload.workflow_run.id = runId;
  payload.workflow_run.head_sha = headSha;
  payload.workflow_run.event = "pull_request";
  payload.workflow_run.html_url = `https://github.com/${OWNER}/${REPO}/actions/runs/${runId}`;
  payload.workflow_run.pull_requests = [];
  payload.workflow_run.head_repository.full_name = headRepository;
  return payload as unknown as Record<string, unknown>;
}
