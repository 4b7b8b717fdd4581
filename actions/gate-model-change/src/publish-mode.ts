/**
 * `mode: publish`, for a `workflow_run` follow-up: the verdict artifact of the
 * run that just completed — a fork's pull request, whose token could not
 * write — becomes the report comment and the check run on that pull request.
 *
 * The artifact comes from an untrusted run. It is downloaded through the API
 * (size checked before and while unzipping), its verdict file is
 * schema-checked and cross-checked, the report is rendered again from the
 * checked verdict (the artifact's Markdown is never used), the check run goes
 * on the commit GitHub says the run was for, and the pull request is one
 * whose head is that commit. Nothing in the artifact is executed.
 */
import * as core from "@actions/core";
import * as github from "@actions/github";
import { ConfigurationError, getStringInput, setOutputs, writeSummary } from "@slmops/action-kit";
import { createGitHubClient, githubCall, publishVerdict, renderReport, unzipArtifact, type GitHubClient } from "@slmops/github-report";
import { runnerContext, type RunnerContext } from "./runner-context.js";
import { parseVerdictFile, VERDICT_FILE_NAME, type VerdictFile } from "./verdict-file.js";
import { completedRun, type CompletedRun } from "./workflow-run-event.js";

/** Default name of the artifact a gate run leaves for the follow-up. */
export const DEFAULT_VERDICT_ARTIFACT = "slmops-verdict";
/** Largest artifact downloaded (zip bytes) and unpacked. */
export const MAX_ARTIFACT_BYTES = 2 * 1024 * 1024;
export const MAX_UNPACKED_BYTES = 8 * 1024 * 1024;
const MAX_ARTIFACT_FILES = 8;

async function downloadVerdict(client: GitHubClient, context: RunnerContext, run: CompletedRun, name: string): Promise<VerdictFile | undefined> {
  const { owner, repo } = context;
  const listed = await githubCall(`listing the artifacts of run ${run.id}`, "actions: read", () =>
    client.rest.actions.listWorkflowRunArtifacts({ owner, repo, run_id: run.id, name, per_page: 10 }),
  );
  const artifact = listed.data.artifacts.find((a) => a.name === name && !a.expired);
  if (!artifact) return undefined;
  const where = `artifact "${name}" of run ${run.id}`;
  if (artifact.size_in_bytes > MAX_ARTIFACT_BYTES) {
    throw new ConfigurationError(`${where} is ${artifact.size_in_bytes} bytes, more than the ${MAX_ARTIFACT_BYTES} a verdict needs; it is not published.`);
  }
  const download = await githubCall(`downloading ${where}`, "actions: read", () => client.rest.actions.downloadArtifact({ owner, repo, artifact_id: artifact.id, archive_format: "zip" }));
  const zip = new Uint8Array(download.data as ArrayBuffer);
  if (zip.byteLength > MAX_ARTIFACT_BYTES) throw new ConfigurationError(`${where} downloaded as ${zip.byteLength} bytes, more than the ${MAX_ARTIFACT_BYTES} accepted; it is not published.`);
  let files: Map<string, Uint8Array>;
  try {
    files = unzipArtifact(zip, where, { maxFiles: MAX_ARTIFACT_FILES, maxTotalBytes: MAX_UNPACKED_BYTES });
  } catch (error) {
    throw new ConfigurationError(`${where} cannot be used: ${(error as Error).message}`, { cause: error });
  }
  const bytes = files.get(VERDICT_FILE_NAME);
  if (!bytes) throw new ConfigurationError(`${where} has no ${VERDICT_FILE_NAME}; upload the gate's output directory as it was written.`);
  return parseVerdictFile(bytes, `${where}: ${VERDICT_FILE_NAME}`);
}

/**
 * The pull request the verdict is for: the one GitHub lists for the run, or
 * (for a fork, where GitHub lists none) the one the file names, accepted
 * only when its head is the run's commit from the run's head repository.
 */
async function pullRequestFor(client: GitHubClient, context: RunnerContext, run: CompletedRun, file: VerdictFile): Promise<number | undefined> {
  const claimed = file.pullRequest;
  if (run.pullRequests.length > 0) {
    if (claimed !== null && !run.pullRequests.includes(claimed)) throw new ConfigurationError(`the verdict names pull request #${claimed}, but run ${run.id} belongs to #${run.pullRequests.join(", #")}; it is not published.`);
    return claimed ?? run.pullRequests[0];
  }
  if (claimed === null) return undefined;
  const { owner, repo } = context;
  const pr = await githubCall(`reading pull request #${claimed}`, "pull-requests: read", () => client.rest.pulls.get({ owner, repo, pull_number: claimed }));
  const head = pr.data.head;
  if (head.sha !== run.headSha) throw new ConfigurationError(`the verdict names pull request #${claimed}, whose head is ${head.sha.slice(0, 7)}, not the run's commit ${run.headSha.slice(0, 7)}; it is not published.`);
  if (run.headRepository && head.repo?.full_name !== run.headRepository) {
    throw new ConfigurationError(`the verdict names pull request #${claimed}, which comes from ${head.repo?.full_name ?? "a deleted repository"}, not ${run.headRepository} where run ${run.id} ran; it is not published.`);
  }
  return claimed;
}

/** Publishes a completed run's verdict artifact on its pull request. */
export async function publishMode(): Promise<void> {
  const context = runnerContext();
  const run = completedRun(github.context.eventName, github.context.payload);
  const token = getStringInput("token");
  if (!token) throw new ConfigurationError("Input `token` is empty; pass `${{ github.token }}` with `pull-requests: write`, `checks: write` and `actions: read`.");
  // Named apart from the gate's own check, so a required check cannot be satisfied by a verdict a fork's run computed.
  const checkName = `${getStringInput("check-name", { fallback: "slmops gate" })} (fork run)`;
  const artifactName = getStringInput("artifact-name", { fallback: DEFAULT_VERDICT_ARTIFACT });
  const client = createGitHubClient({ token, baseUrl: context.apiUrl });

  const file = await downloadVerdict(client, context, run, artifactName);
  if (!file) {
    core.info(`Run ${run.id} left no artifact "${artifactName}": it published its own report, or did not reach the gate. Nothing to do.`);
    setOutputs({ verdict: "", published: "nothing" });
    return;
  }
  if (file.repository.toLowerCase() !== `${context.owner}/${context.repo}`.toLowerCase()) {
    throw new ConfigurationError(`the verdict is for ${file.repository}, not ${context.owner}/${context.repo}; it is not published.`);
  }
  if (file.headSha !== run.headSha) throw new ConfigurationError(`the verdict is for commit ${file.headSha.slice(0, 7)}, but run ${run.id} ran on ${run.headSha.slice(0, 7)}; it is not published.`);
  const pullRequest = await pullRequestFor(client, context, run, file);

  const result = await publishVerdict(client, {
    owner: context.owner,
    repo: context.repo,
    verdict: file.verdict,
    headSha: run.headSha,
    checkName,
    ...(pullRequest !== undefined ? { pullRequest } : {}),
    ...(run.url ? { runUrl: run.url } : {}),
  });
  if (result.comment) core.info(`Report comment ${result.comment.action} on #${pullRequest}: ${result.comment.url}`);
  core.info(`Check run "${checkName}" on ${run.headSha.slice(0, 7)}: ${result.checkRun.url}`);
  await writeSummary([renderReport(file.verdict, { marker: false, ...(run.url ? { runUrl: run.url } : {}) }), "\n"]);
  setOutputs({ verdict: file.verdict.outcome, published: "comment-and-check", "pull-request": pullRequest ?? "" });
}
