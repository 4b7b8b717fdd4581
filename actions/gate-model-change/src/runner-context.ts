/**
 * What the runner tells an action about the run, read from its environment:
 * the repository, the API URL, the run's link, the workflow file and branch
 * the baseline comes from.
 */
import { ConfigurationError } from "@slmops/diagnostics";

export interface RunnerContext {
  readonly owner: string;
  readonly repo: string;
  readonly apiUrl: string;
  /** Link to this workflow run, when the runner says which one it is. */
  readonly runUrl?: string;
  /** This workflow run's id (`GITHUB_RUN_ID`), when the runner says. */
  readonly runId?: number;
  /** The commit the run is for (`GITHUB_SHA`). */
  readonly sha: string;
}

/** The repository and run from `GITHUB_REPOSITORY`, `GITHUB_API_URL`, `GITHUB_SERVER_URL`, `GITHUB_RUN_ID`. */
export function runnerContext(env: NodeJS.ProcessEnv = process.env): RunnerContext {
  const repository = env.GITHUB_REPOSITORY ?? "";
  const match = /^([\w.-]+)\/([\w.-]+)$/.exec(repository);
  if (!match) throw new ConfigurationError("GITHUB_REPOSITORY is not set to `owner/name`; run this action in a GitHub Actions workflow.");
  const [, owner = "", repo = ""] = match;
  const server = (env.GITHUB_SERVER_URL ?? "https://github.com").replace(/\/+$/, "");
  const runId = env.GITHUB_RUN_ID;
  return {
    owner,
    repo,
    apiUrl: (env.GITHUB_API_URL ?? "https://api.github.com").replace(/\/+$/, ""),
    ...(runId && /^\d+$/.test(runId) ? { runUrl: `${server}/${owner}/${repo}/actions/runs/${runId}`, runId: Number(runId) } : {}),
    sha: env.GITHUB_SHA ?? "",
  };
}

/**
 * The file name of the workflow this run belongs to, from `GITHUB_WORKFLOW_REF`
 * (`owner/repo/.github/workflows/models.yml@refs/...`). In a reusable workflow
 * this is the caller's file, whose runs on the base branch hold the baseline.
 */
export function workflowFileName(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const ref = env.GITHUB_WORKFLOW_REF ?? "";
  const match = /\/\.github\/workflows\/([^/@]+)@/.exec(ref);
  return match?.[1];
}
