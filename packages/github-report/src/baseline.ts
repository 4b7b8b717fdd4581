/**
 * The baseline of a regression check: the report artifact of the last
 * successful run of the benchmark workflow on the base branch. When there is
 * none, the result says so plainly, with the reason.
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
  /** How many successful runs to look back through for an unexpired artifact (default 5). */
  readonly lookBack?: number;
  readonly limits?: UnzipLimits;
}

export interface BaselineRun {
  readonly id: number;
  readonly runNumber: number;
  readonly headSha: string;
  readonly url: string;
  readonly createdAt: string;
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
  | { readonly status: "missing"; readonly reason: string };

/** Finds and downloads the base branch's latest report artifact. */
export async function findBaseline(client: GitHubClient, options: FindBaselineOptions): Promise<BaselineResult> {
  const { owner, repo, branch, artifactName } = options;
  const lookBack = Math.max(1, Math.min(100, options.lookBack ?? 5));
  const workflow = String(options.workflow);
  let runs;
  try {
    runs = await githubCall(`listing the runs of ${workflow} on ${branch}`, "actions: read", () =>
      client.rest.actions.listWorkflowRuns({ owner, repo, workflow_id: options.workflow, branch, status: "success", exclude_pull_requests: true, per_page: lookBack }),
    );
  } catch (error) {
    if ((error as { status?: number }).status === 404) return { status: "missing", reason: `the workflow ${workflow} was not found in ${owner}/${repo}` };
    throw error;
  }
  const candidates = runs.data.workflow_runs;
  if (candidates.length === 0) return { status: "missing", reason: `no successful run of ${workflow} on ${branch} yet` };

  const skipped: string[] = [];
  for (const run of candidates) {
    const artifacts = await githubCall(`listing the artifacts of run ${run.id}`, "actions: read", () =>
      client.rest.actions.listWorkflowRunArtifacts({ owner, repo, run_id: run.id, name: artifactName, per_page: 10 }),
    );
    const artifact = artifacts.data.artifacts.find((a) => a.name === artifactName && !a.expired);
    if (!artifact) {
      const expired = artifacts.data.artifacts.some((a) => a.name === artifactName);
      skipped.push(`#${run.run_number} ${expired ? "has only an expired" : "has no"} artifact "${artifactName}"`);
      continue;
    }
    const download = await githubCall(`downloading artifact "${artifactName}" of run ${run.id}`, "actions: read", () =>
      client.rest.actions.downloadArtifact({ owner, repo, artifact_id: artifact.id, archive_format: "zip" }),
    );
    const bytes = new Uint8Array(download.data as ArrayBuffer);
    const source = `${workflow} run #${run.run_number} on ${branch} (${run.head_sha.slice(0, 7)})`;
    return {
      status: "found",
      run: { id: run.id, runNumber: run.run_number, headSha: run.head_sha, url: run.html_url, createdAt: run.created_at },
      artifact: { id: artifact.id, name: artifact.name, sizeInBytes: artifact.size_in_bytes },
      files: unzipArtifact(bytes, `artifact "${artifactName}" of ${source}`, options.limits),
      source,
    };
  }
  return { status: "missing", reason: `the last ${candidates.length} successful run(s) of ${workflow} on ${branch} have no usable artifact "${artifactName}" (${skipped.join("; ")})` };
}
