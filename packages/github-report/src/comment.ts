/**
 * One pull request comment per report, updated in place on every push. The
 * comment is found by a hidden marker on its first line.
 */
import { githubCall, type GitHubClient, type RepositoryRef } from "./client.js";

/** The hidden marker that identifies slmops' report comment. */
export const REPORT_MARKER = "<!-- slmops-report -->";

/** GitHub refuses comment bodies longer than this many characters. */
export const MAX_COMMENT_LENGTH = 65_536;

export interface UpsertCommentOptions extends RepositoryRef {
  /** The pull request (or issue) number. */
  readonly issueNumber: number;
  /** The Markdown body; the marker is added in front when missing. */
  readonly body: string;
  /** A different marker, for several independent reports on one pull request. */
  readonly marker?: string;
  /** Only a comment by this login counts as ours (e.g. `github-actions[bot]`). */
  readonly author?: string;
}

export interface UpsertCommentResult {
  readonly action: "created" | "updated";
  readonly commentId: number;
  readonly url: string;
}

/** The body with the marker as its first line. */
export function withMarker(body: string, marker: string = REPORT_MARKER): string {
  return body.startsWith(marker) ? body : `${marker}\n${body}`;
}

/**
 * Creates the report comment, or updates the existing one in place. Looks
 * through every page of comments; when several carry the marker, the oldest
 * is updated, so the report keeps its place in the conversation.
 */
export async function upsertReportComment(client: GitHubClient, options: UpsertCommentOptions): Promise<UpsertCommentResult> {
  const marker = options.marker ?? REPORT_MARKER;
  const body = withMarker(options.body, marker);
  if (body.length > MAX_COMMENT_LENGTH) {
    throw new RangeError(`the report comment is ${body.length} characters long; GitHub accepts at most ${MAX_COMMENT_LENGTH}`);
  }
  const { owner, repo, issueNumber: issue_number } = options;
  const comments = await githubCall(`listing the comments of #${issue_number}`, "pull-requests: read", () =>
    client.paginate(client.rest.issues.listComments, { owner, repo, issue_number, per_page: 100 }),
  );
  const existing = comments.find((c) => typeof c.body === "string" && c.body.startsWith(marker) && (!options.author || c.user?.login === options.author));
  if (existing) {
    const updated = await githubCall(`updating the report comment on #${issue_number}`, "pull-requests: write", () =>
      client.rest.issues.updateComment({ owner, repo, comment_id: existing.id, body }),
    );
    return { action: "updated", commentId: updated.data.id, url: updated.data.html_url };
  }
  const created = await githubCall(`commenting on #${issue_number}`, "pull-requests: write", () =>
    client.rest.issues.createComment({ owner, repo, issue_number, body }),
  );
  return { action: "created", commentId: created.data.id, url: created.data.html_url };
}
