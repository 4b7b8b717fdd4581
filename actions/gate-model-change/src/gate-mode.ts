/**
 * `mode: gate`: one verdict from the run's device reports, written to the job
 * summary and to files, then published where the token allows — the pull
 * request comment and a check run, or files for an artifact when the pull
 * request comes from a fork.
 */
import { existsSync, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import * as core from "@actions/core";
import { ConfigurationError, getBooleanInput, getJsonInput, getPathInput, getStringInput, setOutputs, workspaceDirectory, writeSummary, type PathInput } from "@slmops/action-kit";
import { currentPullRequest, type PullRequestRef } from "@slmops/action-kit/github";
import { writeFileAtomic } from "@slmops/atomic-file";
import { evaluateGates, formatVerdictText, type BaselineInput, type Verdict } from "@slmops/gate";
import { gatesFromManifest, knownFromManifest, loadReportsDirectory, planFromManifest, type DeviceReports } from "@slmops/gate/reports";
import { baselineFromGitHub, createGitHubClient, publishVerdict, renderReport } from "@slmops/github-report";
import { loadManifestOrThrow } from "@slmops/manifest";
import { gatesRelativeToWorkspace } from "./locations.js";
import { planFromInputs } from "./plan-input.js";
import { choosePublishTarget, parsePublishInput, type PublishTarget } from "./publish-target.js";
import { runnerContext, workflowFileName, type RunnerContext } from "./runner-context.js";
import { REPORT_FILE_NAME, serializeVerdictFile, VERDICT_FILE_NAME, VERDICT_FORMAT, VERDICT_FORMAT_VERSION } from "./verdict-file.js";

/** Default name of the artifact that holds a run's device reports (the next runs' baseline). */
export const DEFAULT_REPORTS_ARTIFACT = "slmops-reports";

interface GateInputs {
  readonly manifest: PathInput;
  readonly root: PathInput;
  readonly workspace: string;
  readonly reports: PathInput;
  readonly baseline: string;
  readonly token: string;
  readonly publish: PublishTarget;
  readonly allowInconclusive: boolean;
  readonly outputDir: PathInput;
  readonly checkName: string;
}

function requireFile(input: PathInput, name: string, hint: string): void {
  if (!existsSync(input.absolute) || !statSync(input.absolute).isFile()) throw new ConfigurationError(`Input \`${name}\`: \`${input.relative}\` is not a file in the workspace. ${hint}`);
}

/** The base branch the baseline comes from: the pull request's base, else the branch that was pushed. */
function baseBranch(env: NodeJS.ProcessEnv): string | undefined {
  const branch = env.GITHUB_BASE_REF || env.GITHUB_REF_NAME;
  return branch && branch.trim() !== "" ? branch : undefined;
}

async function loadBaseline(inputs: GateInputs, context: RunnerContext): Promise<BaselineInput> {
  const value = inputs.baseline.trim();
  if (value === "none") return { status: "missing", reason: "the workflow set `baseline: none`" };
  if (value === "github" || value === "") {
    const workflow = getStringInput("baseline-workflow") || workflowFileName();
    const branch = baseBranch(process.env);
    if (!workflow) return { status: "missing", reason: "the workflow file is unknown (GITHUB_WORKFLOW_REF is not set); set the `baseline-workflow` input" };
    if (!branch) return { status: "missing", reason: "the base branch is unknown (neither GITHUB_BASE_REF nor GITHUB_REF_NAME is set)" };
    const client = createGitHubClient({ token: inputs.token, baseUrl: context.apiUrl });
    const artifactName = getStringInput("baseline-artifact", { fallback: DEFAULT_REPORTS_ARTIFACT });
    // The last run on the base branch that uploaded its device reports, whatever its gate said; never this run.
    return baselineFromGitHub(client, { owner: context.owner, repo: context.repo, workflow, branch, artifactName, ...(context.runId !== undefined ? { excludeRunId: context.runId } : {}) });
  }
  const dir = getPathInput("baseline");
  if (!dir) throw new ConfigurationError("Input `baseline` is empty; use `github`, `none`, or a directory of baseline reports.");
  const reports = await loadReportsDirectory(dir.absolute, dir.relative);
  return reports.files.length === 0 ? { status: "missing", reason: `${dir.relative} holds no bench reports` } : { status: "found", source: dir.relative, results: reports.results };
}

function readInputs(): GateInputs {
  const workspace = workspaceDirectory();
  const manifest = getPathInput("manifest", { fallback: "slmops.yaml" });
  if (!manifest) throw new ConfigurationError("Input `manifest` is empty; name the manifest file, e.g. `slmops.yaml`.");
  requireFile(manifest, "manifest", "Check out the repository first (actions/checkout) or set the `manifest` input to its path.");
  const reports = getPathInput("reports-dir", { fallback: "bench-reports" });
  if (!reports) throw new ConfigurationError("Input `reports-dir` is empty; name the directory the device reports were downloaded to.");
  const outputDir = getPathInput("output-dir", { fallback: "slmops-gate" });
  if (!outputDir) throw new ConfigurationError("Input `output-dir` is empty.");
  return {
    manifest,
    root: getPathInput("root") ?? { absolute: dirname(manifest.absolute), relative: dirname(manifest.relative) },
    workspace,
    reports,
    baseline: getStringInput("baseline", { fallback: "github" }),
    token: getStringInput("token"),
    publish: choosePublishTarget(parsePublishInput(getStringInput("publish", { fallback: "auto" })), currentPullRequest()),
    allowInconclusive: getBooleanInput("allow-inconclusive", { fallback: false }),
    outputDir,
    checkName: getStringInput("check-name", { fallback: "slmops gate" }),
  };
}

/** Writes the report and the verdict file; returns their paths. */
async function writeFiles(inputs: GateInputs, verdict: Verdict, markdown: string, context: RunnerContext, pr: PullRequestRef | undefined): Promise<{ report: PathInput; verdictJson: PathInput }> {
  const file = serializeVerdictFile({
    format: VERDICT_FORMAT,
    version: VERDICT_FORMAT_VERSION,
    repository: `${context.owner}/${context.repo}`,
    pullRequest: pr?.number ?? null,
    headSha: pr?.headSha ?? context.sha,
    verdict,
  });
  const report = { absolute: join(inputs.outputDir.absolute, REPORT_FILE_NAME), relative: `${inputs.outputDir.relative}/${REPORT_FILE_NAME}` };
  const verdictJson = { absolute: join(inputs.outputDir.absolute, VERDICT_FILE_NAME), relative: `${inputs.outputDir.relative}/${VERDICT_FILE_NAME}` };
  await mkdir(inputs.outputDir.absolute, { recursive: true });
  await writeFileAtomic(report.absolute, markdown);
  await writeFileAtomic(verdictJson.absolute, file);
  return { report, verdictJson };
}

/**
 * The run's device reports. No directory at all means no device job uploaded
 * a report: then every planned device fails as not reported.
 */
async function readReports(dir: PathInput): Promise<DeviceReports> {
  if (existsSync(dir.absolute)) return loadReportsDirectory(dir.absolute, dir.relative);
  core.warning(`No reports directory ${dir.relative}: no device report was downloaded.`);
  return { results: [], failures: [], files: [], reports: [] };
}

/** Evaluates the gates, reports the verdict, and fails the step when it does not pass. */
export async function gateMode(): Promise<void> {
  const inputs = readInputs();
  const context = runnerContext();
  const pr = currentPullRequest();
  const loaded = await loadManifestOrThrow(inputs.manifest.absolute, { checkFiles: false, root: inputs.root.absolute, displayPath: inputs.manifest.relative });
  const run = await readReports(inputs.reports);
  core.info(`Read ${run.files.length} device report(s) from ${inputs.reports.relative}: ${run.files.map((f) => f.device).join(", ") || "none"}.`);
  const baseline = await loadBaseline(inputs, context);
  const planned = planFromInputs(getJsonInput("plan"), getJsonInput("refused"), planFromManifest(loaded.manifest));
  const verdict = evaluateGates({ plan: planned.plan, results: run.results, failures: [...run.failures, ...planned.failures], baseline, gates: gatesRelativeToWorkspace(gatesFromManifest(loaded), inputs.root.absolute, inputs.workspace), known: knownFromManifest(loaded.manifest) });
  core.info(formatVerdictText(verdict));

  const runUrl = context.runUrl ? { runUrl: context.runUrl } : {};
  const reportContext = { reports: run.reports };
  const markdown = renderReport(verdict, { marker: false, context: reportContext, ...runUrl });
  const files = await writeFiles(inputs, verdict, markdown, context, pr);
  await writeSummary([markdown, "\n"]);

  let published: string = inputs.publish;
  if (inputs.publish === "comment-and-check") {
    if (!inputs.token) throw new ConfigurationError("Input `token` is empty; pass `${{ github.token }}` with `pull-requests: write` and `checks: write`, or set `publish: summary-only`.");
    const client = createGitHubClient({ token: inputs.token, baseUrl: context.apiUrl });
    const result = await publishVerdict(client, {
      owner: context.owner,
      repo: context.repo,
      verdict,
      context: reportContext,
      headSha: pr?.headSha ?? context.sha,
      checkName: inputs.checkName,
      ...(pr ? { pullRequest: pr.number } : {}),
      ...runUrl,
    });
    if (result.comment) core.info(`Report comment ${result.comment.action}: ${result.comment.url}`);
    core.info(`Check run "${inputs.checkName}": ${result.checkRun.url}`);
    if (!pr) published = "check";
  } else if (inputs.publish === "artifact") {
    core.info(
      `The verdict is in ${inputs.outputDir.relative}/ for an artifact${pr?.fromFork ? " (a fork's token cannot write to the pull request)" : ""}; ` +
        "upload it with actions/upload-artifact and let the workflow_run follow-up publish it.",
    );
  }

  setOutputs({ verdict: verdict.outcome, report: files.report.relative, "verdict-json": files.verdictJson.relative, "output-dir": inputs.outputDir.relative, published });
  const { pass, fail, inconclusive } = verdict.counts;
  if (verdict.outcome === "fail") throw new ConfigurationError(`The gate failed: ${fail} check(s) failed, ${inconclusive} inconclusive, ${pass} passed. The report is in the job summary.`);
  if (verdict.outcome === "inconclusive" && !inputs.allowInconclusive) {
    throw new ConfigurationError(`The gate is inconclusive: ${inconclusive} check(s) could not decide. Rerun to collect more samples, or set \`allow-inconclusive: true\`.`);
  }
}
