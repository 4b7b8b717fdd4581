/**
 * The baseline of a regression check: the device reports (artifact
 * `slmops-reports` by default) of the last completed run of the workflow on
 * the base branch that uploaded them — whatever that run's gate concluded, so
 * the first run on a new branch starts the baseline. Pull-request runs never
 * count. When there is none, the result says so plainly, with the reason, and
 * tells "none yet" (nothing to compare with until the branch has run) apart
 * from a baseline that existed and is gone.
 */
import { githubCall, type GitHubClient, type RepositoryRef } from "./client.js";
import { unzipArtifact, type UnzipLimits } from "./unzip.js";

export interface FindBaselineOptions extends RepositoryRef {
  /** The workflow file name (e.g. `bench.yml`) or its numeric id. */
  readonly workflow: string | number;
  /** The base branch, e.g. `main`. */
  readonly branch: string;
  /** Name of the artifact holding the reports, e.g. `slmops-reports`. */
  readonly artifactName: string;
  /** How many completed runs to look back through for one with the artifact (default 10, at most 100). */
  readonly lookBack?: number;
  /** The run asking (`GITHUB_RUN_ID`): never its own baseline. */
  readonly excludeRunId?: number;
  readonly limits?: UnzipLimits;
}

export interface BaselineRun {
  readonly id: number;
  readonly runNumber: number;
  readonly headSha: string;
  readonly url: string;
  readonly createdAt: string;
  /** The run's conclusion (a run whose gate failed still holds a baseline). */
  readonly conclusion: string | null;
}

export type BaselineResult =
  | {
      readonly status: "found";
      readonly run: BaselineRun;
      readonly artifact: { readonly id: number; readonly name: string; readonly sizeInBytes: number };
      /** The artifact's files by path inside it. */
      readonly files: ReadonlyMap<string, Uint8Array>;
      /** A short description, e.g. `bench.yml run #12 on main (abc1234)`. */
      readonly source: string;
    }
  | {
      readonly status: "missing";
      readonly reason: string;
      /** The branch has no run that uploaded the reports: the baseline has not started yet. */
      readonly noneYet?: true;
    };

/** Events whose runs test a change rather than the branch: their reports are never a baseline. */
const PULL_REQUEST_EVENTS = new Set(["pull_request", "pull_request_target", "merge_group"]);

/** Finds and downloads the report artifact of the base branch's last run that uploaded one. */
export async function findBaseline(client: GitHubClient, options: FindBaselineOptions): Promise<BaselineResult> {
  const { owner, repo, branch, artifactName } = options;
  const lookBack = Math.max(1, Math.min(100, options.lookBack ?? 10));
  const workflow = String(options.workflow);
  const noneYet = (detail: string): BaselineResult => ({ status: "missing", reason: `${branch} has no run of ${workflow} that uploaded its device reports (artifact "${artifactName}")${detail}`, noneYet: true });
  let runs;
  try {
    runs = await githubCall(`listing the runs of ${workflow} on ${branch}`, "actions: read", () =>
      client.rest.actions.listWorkflowRuns({ owner, repo, workflow_id: options.workflow, branch, status: "completed", per_page: lookBack }),
    );
  } catch (error) {
    // A workflow GitHub does not know has never run here, e.g. in the pull request that adds it.
    if ((error as { status?: number }).status === 404) return noneYet(`: the workflow has not run in ${owner}/${repo} yet`);
    throw error;
  }
  const listed = runs.data.workflow_runs;
  const candidates = listed.filter((run) => run.id !== options.excludeRunId && !PULL_REQUEST_EVENTS.has(run.event) && run.head_branch === branch);
  // Every completed run of the branch was seen: a baseline that is not among them never existed.
  const sawAll = runs.data.total_count <= listed.length;

  const skipped: string[] = [];
  let expired = 0;
  for (const run of candidates) {
    const artifacts = await githubCall(`listing the artifacts of run ${run.id}`, "actions: read", () =>
      client.rest.actions.listWorkflowRunArtifacts({ owner, repo, run_id: run.id, name: artifactName, per_page: 10 }),
    );
    const named = artifacts.data.artifacts.filter((a) => a.name === artifactName);
    const artifact = named.find((a) => !a.expired);
    if (!artifact) {
      if (named.length > 0) expired++;
      skipped.push(`#${run.run_number} ${named.length > 0 ? "has only an expired" : "has no"} artifact "${artifactName}"`);
      continue;
    }
    const download = await githubCall(`downloading artifact "${artifactName}" of run ${run.id}`, "actions: read", () =>
      client.rest.actions.downloadArtifact({ owner, repo, artifact_id: artifact.id, archive_format: "zip" }),
    );
    const bytes = new Uint8Array(download.data as ArrayBuffer);
    const source = `${workflow} run #${run.run_number} on ${branch} (${run.head_sha.slice(0, 7)})`;
    return {
      status: "found",
      run: { id: run.id, runNumber: run.run_number, headSha: run.head_sha, url: run.html_url, createdAt: run.created_at, conclusion: run.conclusion },
      artifact: { id: artifact.id, name: artifact.name, sizeInBytes: artifact.size_in_bytes },
      files: unzipArtifact(bytes, `artifact "${artifactName}" of ${source}`, options.limits),
      source,
    };
  }
  if (candidates.length === 0 && sawAll) return noneYet("");
  if (expired === 0 && sawAll) return noneYet(` (${skipped.join("; ")})`);
  return {
    status: "missing",
    reason:
      `the last ${candidates.length} completed run(s) of ${workflow} on ${branch} have no usable artifact "${artifactName}" (${skipped.join("; ")}); ` +
      `run the workflow on ${branch} again to publish a new baseline`,
  };
}
