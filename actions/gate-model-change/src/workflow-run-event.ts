/**
 * The run a `workflow_run` event is about, read from its payload and checked:
 * ids are numbers, the commit is a commit hash, links stay on the server.
 */
import { ConfigurationError } from "@slmops/diagnostics";

export interface CompletedRun {
  readonly id: number;
  readonly headSha: string;
  /** `owner/name` the run's code came from (a fork's for a fork's pull request). */
  readonly headRepository?: string;
  /** Pull requests GitHub lists for the run (none for a fork's). */
  readonly pullRequests: readonly number[];
  readonly event: string;
  readonly conclusion: string | null;
  readonly url?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The completed run from the event, or a `ConfigurationError` when this is not a `workflow_run` event. */
export function completedRun(eventName: string, payload: unknown, env: NodeJS.ProcessEnv = process.env): CompletedRun {
  if (eventName !== "workflow_run") {
    throw new ConfigurationError(`\`mode: publish\` runs in a workflow triggered by \`workflow_run\`; this run was triggered by \`${eventName || "an unknown event"}\`. Use \`mode: gate\` here.`);
  }
  const run = isObject(payload) ? payload.workflow_run : undefined;
  if (!isObject(run)) throw new ConfigurationError("The workflow_run event has no `workflow_run` object.");
  const id = run.id;
  const headSha = run.head_sha;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id <= 0) throw new ConfigurationError("The workflow_run event has no valid run id.");
  if (typeof headSha !== "string" || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(headSha)) throw new ConfigurationError("The workflow_run event has no valid head commit.");
  const headRepo = isObject(run.head_repository) ? run.head_repository.full_name : undefined;
  const prs = Array.isArray(run.pull_requests) ? run.pull_requests : [];
  const numbers = prs.map((p) => (isObject(p) ? p.number : undefined)).filter((n): n is number => typeof n === "number" && Number.isSafeInteger(n) && n > 0);
  const server = (env.GITHUB_SERVER_URL ?? "https://github.com").replace(/\/+$/, "");
  const url = typeof run.html_url === "string" && run.html_url.startsWith(`${server}/`) ? run.html_url : undefined;
  return {
    id,
    headSha,
    ...(typeof headRepo === "string" ? { headRepository: headRepo } : {}),
    pullRequests: numbers,
    event: typeof run.event === "string" ? run.event : "",
    conclusion: typeof run.conclusion === "string" ? run.conclusion : null,
    ...(url ? { url } : {}),
  };
}
