/**
 * A check run with the verdict, whose annotations point at the lines of
 * `slmops.yaml` that failed. GitHub takes at most 50 annotations per request
 * and appends those of each update, so the first 50 go with the creation and
 * the rest in updates of 50.
 */
import type { Diagnostic } from "@slmops/diagnostics";
import { githubCall, type GitHubClient, type RepositoryRef } from "./client.js";

/** GitHub's limit on annotations in one create or update request. */
export const ANNOTATIONS_PER_REQUEST = 50;
/** GitHub's limit on a check run's output summary and text. */
export const MAX_OUTPUT_LENGTH = 65_535;

export type CheckConclusion = "success" | "failure" | "neutral" | "action_required" | "cancelled" | "skipped" | "timed_out";

export interface CheckAnnotation {
  readonly path: string;
  readonly start_line: number;
  readonly end_line: number;
  readonly start_column?: number;
  readonly end_column?: number;
  readonly annotation_level: "notice" | "warning" | "failure";
  readonly message: string;
  readonly title?: string;
  readonly raw_details?: string;
}

export interface PublishCheckRunOptions extends RepositoryRef {
  readonly name: string;
  readonly headSha: string;
  readonly conclusion: CheckConclusion;
  readonly title: string;
  readonly summary: string;
  readonly text?: string;
  readonly detailsUrl?: string;
  readonly annotations?: readonly CheckAnnotation[];
}

export interface PublishCheckRunResult {
  readonly checkRunId: number;
  readonly url: string;
  /** Number of annotations sent with each request, in order. */
  readonly batches: readonly number[];
}

/** Cuts text to `max` characters, saying that it was cut. */
export function fitText(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = "\n\n… (cut to fit GitHub's size limit)";
  return text.slice(0, Math.max(0, max - note.length)) + note;
}

/** Annotations in batches GitHub accepts. */
export function batchAnnotations(annotations: readonly CheckAnnotation[], size: number = ANNOTATIONS_PER_REQUEST): CheckAnnotation[][] {
  const batches: CheckAnnotation[][] = [];
  for (let i = 0; i < annotations.length; i += size) batches.push(annotations.slice(i, i + size));
  return batches;
}

/** A diagnostic as a check-run annotation (columns only on a one-line span, as GitHub requires). */
export function diagnosticToAnnotation(d: Diagnostic): CheckAnnotation {
  const startLine = Math.max(1, d.line);
  const endLine = d.endLine !== undefined && d.endLine >= startLine ? d.endLine : startLine;
  const level = d.severity === "error" ? "failure" : d.severity === "warning" ? "warning" : "notice";
  const columns =
    endLine === startLine && d.column >= 1
      ? { start_column: d.column, end_column: d.endColumn !== undefined && d.endColumn >= d.column ? d.endColumn : d.column }
      : {};
  return {
    path: d.file,
    start_line: startLine,
    end_line: endLine,
    ...columns,
    annotation_level: level,
    message: d.hint ? `${d.message}\nHint: ${d.hint}` : d.message,
    title: d.code,
  };
}

/**
 * Creates a completed check run with the first batch of annotations, then
 * appends the remaining batches with updates.
 */
export async function publishCheckRun(client: GitHubClient, options: PublishCheckRunOptions): Promise<PublishCheckRunResult> {
  const { owner, repo } = options;
  const batches = batchAnnotations(options.annotations ?? []);
  const output = (annotations: readonly CheckAnnotation[] | undefined) => ({
    title: options.title,
    summary: fitText(options.summary, MAX_OUTPUT_LENGTH),
    ...(options.text !== undefined ? { text: fitText(options.text, MAX_OUTPUT_LENGTH) } : {}),
    ...(annotations && annotations.length > 0 ? { annotations: [...annotations] } : {}),
  });
  const created = await githubCall(`creating the check run "${options.name}"`, "checks: write", () =>
    client.rest.checks.create({
      owner,
      repo,
      name: options.name,
      head_sha: options.headSha,
      status: "completed",
      conclusion: options.conclusion,
      ...(options.detailsUrl ? { details_url: options.detailsUrl } : {}),
      output: output(batches[0]),
    }),
  );
  const checkRunId = created.data.id;
  for (const batch of batches.slice(1)) {
    await githubCall(`adding annotations to the check run "${options.name}"`, "checks: write", () =>
      client.rest.checks.update({ owner, repo, check_run_id: checkRunId, output: output(batch) }),
    );
  }
  return { checkRunId, url: created.data.html_url ?? created.data.url, batches: batches.map((b) => b.length) };
}
