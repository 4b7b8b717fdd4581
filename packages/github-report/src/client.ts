/**
 * The octokit client slmops uses, and one error type for failed GitHub calls
 * that says what was being done and which permission it needs.
 */
import { getOctokit } from "@actions/github";
import { SlmopsError } from "@slmops/diagnostics";

/** An authenticated octokit (the one `@actions/github` creates). */
export type GitHubClient = ReturnType<typeof getOctokit>;

export interface ClientOptions {
  readonly token: string;
  /** API base URL; default `GITHUB_API_URL` or https://api.github.com. */
  readonly baseUrl?: string;
}

/** An octokit for the given token (and API URL, for GitHub Enterprise or tests). */
export function createGitHubClient(options: ClientOptions): GitHubClient {
  return getOctokit(options.token, options.baseUrl ? { baseUrl: options.baseUrl } : {});
}

/** The repository a call acts on. */
export interface RepositoryRef {
  readonly owner: string;
  readonly repo: string;
}

/** A GitHub API call that failed; `status` is the HTTP status when there was one. */
export class GitHubApiError extends SlmopsError {
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
  }
}

/**
 * Runs one API call; a failure becomes a {@link GitHubApiError} saying what
 * was being done, the status, and for 403/404 the permission the token needs.
 */
export async function githubCall<T>(what: string, permission: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const status = typeof (error as { status?: unknown }).status === "number" ? (error as { status: number }).status : undefined;
    const detail = error instanceof Error ? error.message : String(error);
    const hint =
      status === 403 || status === 404
        ? ` The workflow's token needs \`permissions: ${permission}\`; pull requests from forks get a read-only token, so report them from a \`workflow_run\` workflow.`
        : "";
    throw new GitHubApiError(`GitHub API: ${what} failed${status ? ` (HTTP ${status})` : ""}: ${detail}.${hint}`, status, { cause: error });
  }
}
