/**
 * Everything a verdict becomes on a pull request, in one call: the report
 * comment (created once, then updated in place) and a check run whose
 * annotations point at the gates that did not pass.
 */
import type { Verdict } from "@slmops/gate";
import { publishCheckRun, type PublishCheckRunResult } from "./check-run.js";
import type { GitHubClient, RepositoryRef } from "./client.js";
import { upsertReportComment, type UpsertCommentResult } from "./comment.js";
import { renderReport } from "./render.js";
import type { ReportContext } from "./report-context.js";
import { checkConclusion, verdictAnnotations } from "./verdict-output.js";

export interface PublishVerdictOptions extends RepositoryRef {
  readonly verdict: Verdict;
  /** The reports behind the verdict (fingerprints, run rules, the fp32 rows), shown in the report. */
  readonly context?: ReportContext;
  /** The pull request to comment on; no comment when absent (e.g. a push). */
  readonly pullRequest?: number;
  /** The commit the check run belongs to. */
  readonly headSha: string;
  /** Check run name (default `slmops gate`). */
  readonly checkName?: string;
  /** Link to the workflow run, shown in the report. */
  readonly runUrl?: string;
  /** Only a comment by this login is updated (default: any comment with the marker). */
  readonly commentAuthor?: string;
}

export interface PublishVerdictResult {
  readonly comment?: UpsertCommentResult;
  readonly checkRun: PublishCheckRunResult;
  /** The Markdown that was published (also fit for the job summary). */
  readonly markdown: string;
}

const TITLE = { pass: "Every gate passed", fail: "A gate failed", inconclusive: "Inconclusive: rerun to decide" } as const;

/** Publishes the verdict as the report comment and a check run. */
export async function publishVerdict(client: GitHubClient, options: PublishVerdictOptions): Promise<PublishVerdictResult> {
  const { owner, repo, verdict } = options;
  const shared = { ...(options.runUrl ? { runUrl: options.runUrl } : {}), ...(options.context ? { context: options.context } : {}) };
  const markdown = renderReport(verdict, shared);
  const comment =
    options.pullRequest !== undefined
      ? await upsertReportComment(client, { owner, repo, issueNumber: options.pullRequest, body: markdown, ...(options.commentAuthor ? { author: options.commentAuthor } : {}) })
      : undefined;
  const { pass, fail, inconclusive } = verdict.counts;
  const checkRun = await publishCheckRun(client, {
    owner,
    repo,
    name: options.checkName ?? "slmops gate",
    headSha: options.headSha,
    conclusion: checkConclusion(verdict.outcome),
    title: `${TITLE[verdict.outcome]} (${pass} passed, ${fail} failed, ${inconclusive} inconclusive)`,
    summary: renderReport(verdict, { marker: false, maxLength: 65_535, ...shared }),
    ...(options.runUrl ? { detailsUrl: options.runUrl } : {}),
    annotations: verdictAnnotations(verdict),
  });
  return { ...(comment ? { comment } : {}), checkRun, markdown };
}
