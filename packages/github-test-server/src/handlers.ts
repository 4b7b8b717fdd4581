/**
 * The operations the server implements, by operationId. Each builds its
 * response from the description's example for that status, with the state
 * laid over it. Other valid operations answer 501 and are recorded.
 */
import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { isObject, type JsonObject, type OpenApiDocument } from "./description.js";
import type { Operation } from "./operations.js";
import { paginate } from "./pagination.js";
import { exampleBody, exampleItem, overlay } from "./responses.js";
import {
  githubAssetName,
  type Actor,
  type AnnotationRecord,
  type ArtifactRecord,
  type CheckRunRecord,
  type CommentRecord,
  type GitHubState,
  type PullRequestRecord,
  type ReleaseAssetRecord,
  type ReleaseRecord,
  type RepositoryState,
  type WorkflowRunRecord,
} from "./state.js";

export interface HandlerContext {
  readonly doc: OpenApiDocument;
  readonly operation: Operation;
  readonly params: Readonly<Record<string, unknown>>;
  /** The validated JSON body; for an operation whose body is not JSON, its bytes (a `Buffer`). */
  readonly body: unknown;
  /** The full request URL. */
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  readonly state: GitHubState;
  /** The server's origin, e.g. `http://127.0.0.1:4567`. */
  readonly baseUrl: string;
}

export interface HandlerResult {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** An error response with GitHub's `basic-error` shape (`validation-error` with `errors`). */
export class HttpError extends Error {
  readonly status: number;
  readonly errors?: readonly JsonObject[];
  constructor(status: number, message: string, errors?: readonly JsonObject[]) {
    super(message);
    this.status = status;
    if (errors) this.errors = errors;
  }
}

/** GitHub's 422 for a valid request it refuses, e.g. `{ resource: "Release", code: "already_exists", field: "tag_name" }`. */
function validationFailed(resource: string, code: string, field: string): HttpError {
  return new HttpError(422, "Validation Failed", [{ resource, code, field }]);
}

export type Handler = (ctx: HandlerContext) => HandlerResult;

function linkHeader(link: string | undefined): Record<string, string> {
  return link ? { link } : {};
}

const nodeId = (kind: string, id: number): string => Buffer.from(`${kind}${id}`).toString("base64");

function repoOf(ctx: HandlerContext): RepositoryState {
  return ctx.state.repository(String(ctx.params.owner), String(ctx.params.repo));
}

function repoApi(ctx: HandlerContext, repo: RepositoryState): string {
  return `${ctx.baseUrl}/repos/${repo.owner}/${repo.repo}`;
}

function repoHtml(ctx: HandlerContext, repo: RepositoryState): string {
  return `${ctx.baseUrl}/_html/${repo.owner}/${repo.repo}`;
}

function userJson(ctx: HandlerContext, template: unknown, actor: Actor): JsonObject {
  return overlay(template, {
    login: actor.login,
    id: actor.id,
    node_id: nodeId("U_", actor.id),
    type: actor.type,
    url: `${ctx.baseUrl}/users/${encodeURIComponent(actor.login)}`,
    html_url: `${ctx.baseUrl}/_html/${encodeURIComponent(actor.login)}`,
    site_admin: false,
  });
}

// ── issue comments ────────────────────────────────────────────────────────

function commentJson(ctx: HandlerContext, template: JsonObject, repo: RepositoryState, c: CommentRecord): JsonObject {
  return overlay(template, {
    id: c.id,
    node_id: nodeId("IC_", c.id),
    url: `${repoApi(ctx, repo)}/issues/comments/${c.id}`,
    html_url: `${repoHtml(ctx, repo)}/pull/${c.issueNumber}#issuecomment-${c.id}`,
    issue_url: `${repoApi(ctx, repo)}/issues/${c.issueNumber}`,
    body: c.body,
    user: userJson(ctx, template.user, c.user),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  });
}

function findComment(ctx: HandlerContext, repo: RepositoryState): CommentRecord {
  const comment = repo.comments.find((c) => c.id === ctx.params.comment_id);
  if (!comment) throw new HttpError(404, "Not Found");
  return comment;
}

const listComments: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const since = typeof ctx.params.since === "string" ? ctx.params.since : undefined;
  const all = repo.comments.filter((c) => c.issueNumber === ctx.params.issue_number && (!since || c.updatedAt >= since));
  const page = paginate(all, ctx.url, ctx.params);
  const template = exampleItem(ctx.doc, ctx.operation, 200);
  return { status: 200, body: page.items.map((c) => commentJson(ctx, template, repo, c)), headers: linkHeader(page.link) };
};

const createComment: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const body = (ctx.body as { body: string }).body;
  const at = ctx.state.now();
  const comment: CommentRecord = { id: ctx.state.nextId(), issueNumber: ctx.params.issue_number as number, body, user: ctx.state.actor, createdAt: at, updatedAt: at };
  repo.comments.push(comment);
  const json = commentJson(ctx, exampleBody(ctx.doc, ctx.operation, 201) as JsonObject, repo, comment);
  return { status: 201, body: json, headers: { location: String(json.url) } };
};

const getComment: Handler = (ctx) => {
  const repo = repoOf(ctx);
  return { status: 200, body: commentJson(ctx, exampleBody(ctx.doc, ctx.operation, 200) as JsonObject, repo, findComment(ctx, repo)) };
};

const updateComment: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const comment = findComment(ctx, repo);
  comment.body = (ctx.body as { body: string }).body;
  comment.updatedAt = ctx.state.now();
  return { status: 200, body: commentJson(ctx, exampleBody(ctx.doc, ctx.operation, 200) as JsonObject, repo, comment) };
};

const deleteComment: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const comment = findComment(ctx, repo);
  repo.comments.splice(repo.comments.indexOf(comment), 1);
  return { status: 204 };
};

// ── check runs ────────────────────────────────────────────────────────────

interface CheckRunBody {
  name?: string;
  head_sha?: string;
  details_url?: string;
  external_id?: string;
  status?: string;
  conclusion?: string;
  started_at?: string;
  completed_at?: string;
  output?: { title?: string; summary?: string; text?: string; annotations?: AnnotationRecord[] };
}

function checkRunJson(ctx: HandlerContext, template: JsonObject, repo: RepositoryState, r: CheckRunRecord): JsonObject {
  return overlay(template, {
    id: r.id,
    head_sha: r.headSha,
    node_id: nodeId("CR_", r.id),
    external_id: r.externalId,
    url: `${repoApi(ctx, repo)}/check-runs/${r.id}`,
    html_url: `${repoHtml(ctx, repo)}/runs/${r.id}`,
    details_url: r.detailsUrl,
    status: r.status,
    conclusion: r.conclusion,
    started_at: r.startedAt,
    completed_at: r.completedAt,
    output: {
      title: r.output.title,
      summary: r.output.summary,
      text: r.output.text,
      annotations_count: r.annotations.length,
      annotations_url: `${repoApi(ctx, repo)}/check-runs/${r.id}/annotations`,
    },
    name: r.name,
    check_suite: { id: r.id + 1 },
    pull_requests: [],
  });
}

function applyCheckRunBody(ctx: HandlerContext, run: CheckRunRecord, body: CheckRunBody): void {
  if (body.name !== undefined) run.name = body.name;
  if (body.details_url !== undefined) run.detailsUrl = body.details_url;
  if (body.external_id !== undefined) run.externalId = body.external_id;
  if (body.status !== undefined) run.status = body.status;
  if (body.started_at !== undefined) run.startedAt = body.started_at;
  if (body.conclusion !== undefined) {
    // Giving a conclusion completes the check run.
    run.conclusion = body.conclusion;
    run.status = "completed";
    run.completedAt = body.completed_at ?? run.completedAt ?? ctx.state.now();
  } else if (body.completed_at !== undefined) {
    run.completedAt = body.completed_at;
  }
  if (body.output) {
    if (body.output.title !== undefined) run.output.title = body.output.title;
    if (body.output.summary !== undefined) run.output.summary = body.output.summary;
    if (body.output.text !== undefined) run.output.text = body.output.text;
    const annotations = body.output.annotations ?? [];
    if (annotations.length > 0) {
      run.annotations.push(...annotations.map((a) => ({ ...a })));
      run.annotationBatches.push(annotations.length);
    }
  }
}

function findCheckRun(ctx: HandlerContext, repo: RepositoryState): CheckRunRecord {
  const run = repo.checkRuns.get(ctx.params.check_run_id as number);
  if (!run) throw new HttpError(404, "Not Found");
  return run;
}

const createCheckRun: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const body = ctx.body as CheckRunBody;
  const run: CheckRunRecord = {
    id: ctx.state.nextId(),
    name: body.name ?? "",
    headSha: body.head_sha ?? "",
    status: "queued",
    conclusion: null,
    startedAt: ctx.state.now(),
    completedAt: null,
    detailsUrl: null,
    externalId: null,
    output: { title: null, summary: null, text: null },
    annotations: [],
    annotationBatches: [],
  };
  applyCheckRunBody(ctx, run, body);
  repo.checkRuns.set(run.id, run);
  return { status: 201, body: checkRunJson(ctx, exampleBody(ctx.doc, ctx.operation, 201) as JsonObject, repo, run) };
};

const updateCheckRun: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const run = findCheckRun(ctx, repo);
  applyCheckRunBody(ctx, run, ctx.body as CheckRunBody);
  return { status: 200, body: checkRunJson(ctx, exampleBody(ctx.doc, ctx.operation, 200) as JsonObject, repo, run) };
};

const getCheckRun: Handler = (ctx) => {
  const repo = repoOf(ctx);
  return { status: 200, body: checkRunJson(ctx, exampleBody(ctx.doc, ctx.operation, 200) as JsonObject, repo, findCheckRun(ctx, repo)) };
};

const listAnnotations: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const run = findCheckRun(ctx, repo);
  const template = exampleItem(ctx.doc, ctx.operation, 200);
  const page = paginate(run.annotations, ctx.url, ctx.params);
  const items = page.items.map((a) =>
    overlay(template, {
      path: a.path,
      start_line: a.start_line,
      end_line: a.end_line,
      start_column: a.start_column ?? null,
      end_column: a.end_column ?? null,
      annotation_level: a.annotation_level,
      title: a.title ?? null,
      message: a.message,
      raw_details: a.raw_details ?? null,
      blob_href: `${repoHtml(ctx, repo)}/blob/${run.headSha}/${a.path}`,
    }),
  );
  return { status: 200, body: items, headers: linkHeader(page.link) };
};

// ── workflow runs and artifacts ───────────────────────────────────────────

function workflowRunJson(ctx: HandlerContext, template: JsonObject, repo: RepositoryState, r: WorkflowRunRecord): JsonObject {
  const api = `${repoApi(ctx, repo)}/actions/runs/${r.id}`;
  return overlay(template, {
    id: r.id,
    name: r.name,
    node_id: nodeId("WFR_", r.id),
    check_suite_id: r.id + 1,
    check_suite_node_id: nodeId("CS_", r.id + 1),
    head_branch: r.headBranch,
    head_sha: r.headSha,
    path: `.github/workflows/${r.workflowFile}`,
    run_number: r.runNumber,
    event: r.event,
    display_title: r.name,
    status: r.status,
    conclusion: r.conclusion,
    workflow_id: r.workflowId,
    url: api,
    html_url: `${repoHtml(ctx, repo)}/actions/runs/${r.id}`,
    pull_requests: [],
    created_at: r.createdAt,
    updated_at: r.createdAt,
    run_attempt: 1,
    run_started_at: r.createdAt,
    jobs_url: `${api}/jobs`,
    logs_url: `${api}/logs`,
    check_suite_url: `${repoApi(ctx, repo)}/check-suites/${r.id + 1}`,
    artifacts_url: `${api}/artifacts`,
    cancel_url: `${api}/cancel`,
    rerun_url: `${api}/rerun`,
    workflow_url: `${repoApi(ctx, repo)}/actions/workflows/${r.workflowId}`,
  });
}

function artifactJson(ctx: HandlerContext, template: JsonObject, repo: RepositoryState, run: WorkflowRunRecord, a: ArtifactRecord): JsonObject {
  const url = `${repoApi(ctx, repo)}/actions/artifacts/${a.id}`;
  return overlay(template, {
    id: a.id,
    node_id: nodeId("AR_", a.id),
    name: a.name,
    size_in_bytes: a.zip.byteLength,
    url,
    archive_download_url: `${url}/zip`,
    expired: a.expired,
    created_at: a.createdAt,
    updated_at: a.createdAt,
    expires_at: a.createdAt.replace(/^(\d{4})/, (y) => String(Number(y) + 1)),
    digest: `sha256:${createHash("sha256").update(a.zip).digest("hex")}`,
    workflow_run: { id: run.id, repository_id: repo.id, head_repository_id: repo.id, head_branch: run.headBranch, head_sha: run.headSha },
  });
}

function filterRuns(ctx: HandlerContext, runs: readonly WorkflowRunRecord[]): WorkflowRunRecord[] {
  const p = ctx.params;
  return runs
    .filter((r) => p.branch === undefined || r.headBranch === p.branch)
    .filter((r) => p.event === undefined || r.event === p.event)
    .filter((r) => p.head_sha === undefined || r.headSha === p.head_sha)
    .filter((r) => p.status === undefined || r.status === p.status || r.conclusion === p.status)
    .sort((a, b) => (a.createdAt === b.createdAt ? b.id - a.id : a.createdAt < b.createdAt ? 1 : -1));
}

function runListResult(ctx: HandlerContext, repo: RepositoryState, runs: WorkflowRunRecord[]): HandlerResult {
  const template = exampleItem(ctx.doc, ctx.operation, 200, "workflow_runs");
  const page = paginate(runs, ctx.url, ctx.params);
  return {
    status: 200,
    body: { total_count: runs.length, workflow_runs: page.items.map((r) => workflowRunJson(ctx, template, repo, r)) },
    headers: linkHeader(page.link),
  };
}

const listWorkflowRuns: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const id = ctx.params.workflow_id;
  const workflowId = typeof id === "number" ? id : repo.workflows.get(String(id));
  if (workflowId === undefined || ![...repo.workflows.values()].includes(workflowId)) throw new HttpError(404, "Not Found");
  return runListResult(ctx, repo, filterRuns(ctx, repo.workflowRuns.filter((r) => r.workflowId === workflowId)));
};

const listWorkflowRunsForRepo: Handler = (ctx) => {
  const repo = repoOf(ctx);
  return runListResult(ctx, repo, filterRuns(ctx, repo.workflowRuns));
};

function findRun(ctx: HandlerContext, repo: RepositoryState): WorkflowRunRecord {
  const run = repo.workflowRuns.find((r) => r.id === ctx.params.run_id);
  if (!run) throw new HttpError(404, "Not Found");
  return run;
}

function findArtifact(ctx: HandlerContext, repo: RepositoryState): { run: WorkflowRunRecord; artifact: ArtifactRecord } {
  for (const run of repo.workflowRuns) {
    const artifact = run.artifacts.find((a) => a.id === ctx.params.artifact_id);
    if (artifact) return { run, artifact };
  }
  throw new HttpError(404, "Not Found");
}

const getWorkflowRun: Handler = (ctx) => {
  const repo = repoOf(ctx);
  return { status: 200, body: workflowRunJson(ctx, exampleBody(ctx.doc, ctx.operation, 200) as JsonObject, repo, findRun(ctx, repo)) };
};

const listRunArtifacts: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const run = findRun(ctx, repo);
  const artifacts = run.artifacts.filter((a) => ctx.params.name === undefined || a.name === ctx.params.name);
  const template = exampleItem(ctx.doc, ctx.operation, 200, "artifacts");
  const page = paginate(artifacts, ctx.url, ctx.params);
  return {
    status: 200,
    body: { total_count: artifacts.length, artifacts: page.items.map((a) => artifactJson(ctx, template, repo, run, a)) },
    headers: linkHeader(page.link),
  };
};

const getArtifact: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const { run, artifact } = findArtifact(ctx, repo);
  return { status: 200, body: artifactJson(ctx, exampleBody(ctx.doc, ctx.operation, 200) as JsonObject, repo, run, artifact) };
};

/** Path prefix of artifact archives, outside the API (like GitHub's blob storage). */
export const BLOB_PREFIX = "/_blobs/artifacts/";

const downloadArtifact: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const { artifact } = findArtifact(ctx, repo);
  if (ctx.params.archive_format !== "zip") throw new HttpError(404, "Not Found");
  if (artifact.expired) throw new HttpError(410, "Artifact has expired");
  return { status: 302, headers: { location: `${ctx.baseUrl}${BLOB_PREFIX}${artifact.id}/${encodeURIComponent(artifact.name)}.zip` } };
};

// ── pull requests ─────────────────────────────────────────────────────────

function repositoryJson(ctx: HandlerContext, template: unknown, fullName: string): JsonObject {
  const [owner = "", name = ""] = fullName.split("/");
  return overlay(template, {
    name,
    full_name: fullName,
    owner: { login: owner },
    url: `${ctx.baseUrl}/repos/${fullName}`,
    html_url: `${ctx.baseUrl}/_html/${fullName}`,
  });
}

function pullRequestJson(ctx: HandlerContext, template: JsonObject, repo: RepositoryState, pr: PullRequestRecord): JsonObject {
  const base = template.base as JsonObject | undefined;
  const head = template.head as JsonObject | undefined;
  const self = `${repo.owner}/${repo.repo}`;
  return overlay(template, {
    number: pr.number,
    title: pr.title,
    state: pr.state,
    url: `${repoApi(ctx, repo)}/pulls/${pr.number}`,
    html_url: `${repoHtml(ctx, repo)}/pull/${pr.number}`,
    // The description's example lists a team without its required `type`.
    requested_teams: [],
    head: { sha: pr.headSha, ref: pr.headRef, label: `${pr.headRepository.split("/")[0]}:${pr.headRef}`, repo: repositoryJson(ctx, head?.repo, pr.headRepository) },
    base: { ref: pr.baseRef, label: `${repo.owner}:${pr.baseRef}`, repo: repositoryJson(ctx, base?.repo, self) },
  });
}

const getPullRequest: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const pr = repo.pullRequests.find((p) => p.number === ctx.params.pull_number);
  if (!pr) throw new HttpError(404, "Not Found");
  return { status: 200, body: pullRequestJson(ctx, exampleBody(ctx.doc, ctx.operation, 200) as JsonObject, repo, pr) };
};

// ── releases and their assets ─────────────────────────────────────────────

interface ReleaseBody {
  tag_name?: string;
  target_commitish?: string;
  name?: string;
  body?: string;
  draft?: boolean;
  prerelease?: boolean;
  discussion_category_name?: string;
  generate_release_notes?: boolean;
  make_latest?: string;
}

/** Fields of the description's example release that the state does not model. */
const EXAMPLE_ONLY_RELEASE_FIELDS = new Set(["discussion_url", "body_html", "body_text", "mentions_count", "reactions"]);

/** Each segment URI-encoded, slashes kept (a tag may have some). */
function encodePath(text: string): string {
  return text.split("/").map(encodeURIComponent).join("/");
}

/** The tag in a release's URLs: its own, or while a draft (which has no tag yet) its `untagged-…` name, as on GitHub. */
function urlTag(release: ReleaseRecord): string {
  return release.draft ? release.untaggedName : release.tagName;
}

/** Where an asset's bytes are served, outside the API, at the path github.com has. */
function downloadUrl(ctx: HandlerContext, repo: RepositoryState, release: ReleaseRecord, asset: ReleaseAssetRecord): string {
  return `${repoHtml(ctx, repo)}/releases/download/${encodePath(urlTag(release))}/${encodeURIComponent(asset.name)}`;
}

const DOWNLOAD_PATH = /^\/_html\/([^/]+)\/([^/]+)\/releases\/download\/(.+)\/([^/]+)$/;

/**
 * The asset a `browser_download_url` path names: undefined when the path is
 * not one, `{ asset: undefined }` when no asset has it.
 */
export function releaseDownload(state: GitHubState, pathname: string): { asset: ReleaseAssetRecord | undefined } | undefined {
  const m = DOWNLOAD_PATH.exec(pathname);
  if (!m) return undefined;
  let parts: string[];
  try {
    parts = m.slice(1).map((p) => decodeURIComponent(p));
  } catch {
    return { asset: undefined };
  }
  const [owner = "", repo = "", tag = "", name = ""] = parts;
  const release = state.releases(owner, repo).find((r) => urlTag(r) === tag && r.assets.some((a) => a.name === name));
  return { asset: release?.assets.find((a) => a.name === name) };
}

function releaseAssetJson(ctx: HandlerContext, template: JsonObject, repo: RepositoryState, release: ReleaseRecord, a: ReleaseAssetRecord): JsonObject {
  return overlay(template, {
    url: `${repoApi(ctx, repo)}/releases/assets/${a.id}`,
    browser_download_url: downloadUrl(ctx, repo, release, a),
    id: a.id,
    node_id: nodeId("RA_", a.id),
    name: a.name,
    label: a.label,
    state: "uploaded",
    content_type: a.contentType,
    size: a.data.byteLength,
    digest: a.digest,
    download_count: a.downloadCount,
    created_at: a.createdAt,
    updated_at: a.createdAt,
    uploader: userJson(ctx, template.uploader, a.uploader),
  });
}

function releaseJson(ctx: HandlerContext, template: JsonObject, repo: RepositoryState, r: ReleaseRecord): JsonObject {
  const api = `${repoApi(ctx, repo)}/releases/${r.id}`;
  const base = Object.fromEntries(Object.entries(template).filter(([key]) => !EXAMPLE_ONLY_RELEASE_FIELDS.has(key)));
  const assetTemplate = Array.isArray(template.assets) && isObject(template.assets[0]) ? template.assets[0] : {};
  return overlay(base, {
    url: api,
    html_url: `${repoHtml(ctx, repo)}/releases/tag/${encodePath(urlTag(r))}`,
    assets_url: `${api}/assets`,
    // Hypermedia: octokit's uploadReleaseAsset takes this as `url`, so uploads land on this server.
    upload_url: `${api}/assets{?name,label}`,
    tarball_url: r.draft ? null : `${repoApi(ctx, repo)}/tarball/${encodePath(r.tagName)}`,
    zipball_url: r.draft ? null : `${repoApi(ctx, repo)}/zipball/${encodePath(r.tagName)}`,
    id: r.id,
    node_id: nodeId("RE_", r.id),
    tag_name: r.tagName,
    target_commitish: r.targetCommitish,
    name: r.name,
    body: r.body,
    draft: r.draft,
    prerelease: r.prerelease,
    immutable: false,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    published_at: r.publishedAt,
    author: userJson(ctx, template.author, r.author),
    assets: r.assets.map((a) => releaseAssetJson(ctx, assetTemplate, repo, r, a)),
  });
}

function findRelease(ctx: HandlerContext, repo: RepositoryState): ReleaseRecord {
  const release = repo.releases.find((r) => r.id === ctx.params.release_id);
  if (!release) throw new HttpError(404, "Not Found");
  return release;
}

function findReleaseAsset(ctx: HandlerContext, repo: RepositoryState): { release: ReleaseRecord; asset: ReleaseAssetRecord } {
  const found = ctx.state.releaseAsset(repo.owner, repo.repo, ctx.params.asset_id as number);
  if (!found) throw new HttpError(404, "Not Found");
  return found;
}

/**
 * GitHub's rules for a release's tag and discussion: the tag must be a name;
 * a published release owns its tag, so a second published release of one tag
 * is refused (drafts have no tag yet and may share one); and this server has
 * no discussion categories, so naming one is answered as an unknown category.
 */
function checkRelease(repo: RepositoryState, body: ReleaseBody, tag: string, draft: boolean, self?: ReleaseRecord): void {
  if (body.discussion_category_name !== undefined) throw new HttpError(404, "Not Found");
  if (tag.trim() === "") throw validationFailed("Release", "invalid", "tag_name");
  if (!draft && repo.releases.some((r) => r !== self && !r.draft && r.tagName === tag)) throw validationFailed("Release", "already_exists", "tag_name");
}

const createRelease: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const body = ctx.body as ReleaseBody & { tag_name: string };
  const draft = body.draft ?? false;
  checkRelease(repo, body, body.tag_name, draft);
  // Generated notes: the name defaults to the tag, and the body given comes before the notes.
  const notes = body.generate_release_notes === true ? `**Full Changelog**: ${repoHtml(ctx, repo)}/commits/${encodePath(body.tag_name)}` : undefined;
  const release = ctx.state.newRelease({
    tagName: body.tag_name,
    draft,
    prerelease: body.prerelease ?? false,
    name: body.name ?? (notes ? body.tag_name : null),
    body: notes ? [body.body, notes].filter((t) => t !== undefined).join("\n\n") : (body.body ?? null),
    ...(body.target_commitish !== undefined ? { targetCommitish: body.target_commitish } : {}),
  });
  repo.releases.push(release);
  const json = releaseJson(ctx, exampleBody(ctx.doc, ctx.operation, 201) as JsonObject, repo, release);
  return { status: 201, body: json, headers: { location: String(json.url) } };
};

const updateRelease: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const release = findRelease(ctx, repo);
  const body = (ctx.body ?? {}) as ReleaseBody;
  const tag = body.tag_name ?? release.tagName;
  const draft = body.draft ?? release.draft;
  checkRelease(repo, body, tag, draft, release);
  const at = ctx.state.now();
  release.tagName = tag;
  if (body.target_commitish !== undefined) release.targetCommitish = body.target_commitish;
  if (body.name !== undefined) release.name = body.name;
  if (body.body !== undefined) release.body = body.body;
  if (body.prerelease !== undefined) release.prerelease = body.prerelease;
  if (release.draft !== draft) release.publishedAt = draft ? null : at;
  release.draft = draft;
  release.updatedAt = at;
  return { status: 200, body: releaseJson(ctx, exampleBody(ctx.doc, ctx.operation, 200) as JsonObject, repo, release) };
};

const getRelease: Handler = (ctx) => {
  const repo = repoOf(ctx);
  return { status: 200, body: releaseJson(ctx, exampleBody(ctx.doc, ctx.operation, 200) as JsonObject, repo, findRelease(ctx, repo)) };
};

/** Only a published release is found by its tag: a draft has no tag yet (GitHub answers 404 for one). */
const getReleaseByTag: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const release = ctx.state.releaseByTag(repo.owner, repo.repo, String(ctx.params.tag));
  if (!release) throw new HttpError(404, "Not Found");
  return { status: 200, body: releaseJson(ctx, exampleBody(ctx.doc, ctx.operation, 200) as JsonObject, repo, release) };
};

/** Newest first, drafts included (the token can push). */
const listReleases: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const page = paginate([...repo.releases].reverse(), ctx.url, ctx.params);
  const template = exampleItem(ctx.doc, ctx.operation, 200);
  return { status: 200, body: page.items.map((r) => releaseJson(ctx, template, repo, r)), headers: linkHeader(page.link) };
};

const deleteRelease: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const release = findRelease(ctx, repo);
  repo.releases.splice(repo.releases.indexOf(release), 1);
  return { status: 204 };
};

const listReleaseAssets: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const release = findRelease(ctx, repo);
  const page = paginate(release.assets, ctx.url, ctx.params);
  const template = exampleItem(ctx.doc, ctx.operation, 200);
  return { status: 200, body: page.items.map((a) => releaseAssetJson(ctx, template, repo, release, a)), headers: linkHeader(page.link) };
};

/** The asset's JSON; with `accept: application/octet-stream`, a 302 to its bytes, as GitHub answers. */
const getReleaseAsset: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const { release, asset } = findReleaseAsset(ctx, repo);
  if (/application\/octet-stream/i.test(String(ctx.headers.accept ?? ""))) return { status: 302, headers: { location: downloadUrl(ctx, repo, release, asset) } };
  return { status: 200, body: releaseAssetJson(ctx, exampleBody(ctx.doc, ctx.operation, 200) as JsonObject, repo, release, asset) };
};

const deleteReleaseAsset: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const { release, asset } = findReleaseAsset(ctx, repo);
  release.assets.splice(release.assets.indexOf(asset), 1);
  return { status: 204 };
};

/**
 * The raw body is the asset (its media type and length were checked with the
 * parameters). GitHub renames special characters in the name, and refuses a
 * name the release already has an asset of.
 */
const uploadReleaseAsset: Handler = (ctx) => {
  const repo = repoOf(ctx);
  const release = findRelease(ctx, repo);
  const name = githubAssetName(String(ctx.params.name));
  if (name === "") throw validationFailed("ReleaseAsset", "invalid", "name");
  if (release.assets.some((a) => a.name === name)) throw validationFailed("ReleaseAsset", "already_exists", "name");
  const asset = ctx.state.newReleaseAsset({
    name,
    data: ctx.body instanceof Uint8Array ? ctx.body : new Uint8Array(),
    contentType: String(ctx.headers["content-type"]),
    ...(typeof ctx.params.label === "string" ? { label: ctx.params.label } : {}),
  });
  release.assets.push(asset);
  return { status: 201, body: releaseAssetJson(ctx, exampleBody(ctx.doc, ctx.operation, 201) as JsonObject, repo, release, asset) };
};

export const HANDLERS: Readonly<Record<string, Handler>> = Object.freeze({
  "issues/list-comments": listComments,
  "issues/create-comment": createComment,
  "issues/get-comment": getComment,
  "issues/update-comment": updateComment,
  "issues/delete-comment": deleteComment,
  "checks/create": createCheckRun,
  "checks/update": updateCheckRun,
  "checks/get": getCheckRun,
  "checks/list-annotations": listAnnotations,
  "actions/list-workflow-runs": listWorkflowRuns,
  "actions/list-workflow-runs-for-repo": listWorkflowRunsForRepo,
  "actions/get-workflow-run": getWorkflowRun,
  "actions/list-workflow-run-artifacts": listRunArtifacts,
  "actions/get-artifact": getArtifact,
  "actions/download-artifact": downloadArtifact,
  "pulls/get": getPullRequest,
  "repos/create-release": createRelease,
  "repos/get-release": getRelease,
  "repos/get-release-by-tag": getReleaseByTag,
  "repos/update-release": updateRelease,
  "repos/list-releases": listReleases,
  "repos/delete-release": deleteRelease,
  "repos/list-release-assets": listReleaseAssets,
  "repos/get-release-asset": getReleaseAsset,
  "repos/delete-release-asset": deleteReleaseAsset,
  "repos/upload-release-asset": uploadReleaseAsset,
});
