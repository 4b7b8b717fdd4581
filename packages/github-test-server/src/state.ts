/**
 * What the test server remembers: per repository, pull request comments,
 * check runs with their annotations, workflow runs and their artifacts,
 * releases and their assets. Tests seed it (workflow runs, artifacts,
 * existing comments, releases) and inspect it.
 */
import { createHash } from "node:crypto";
import { zipSync } from "fflate";

export interface Actor {
  readonly login: string;
  readonly id: number;
  readonly type: "User" | "Bot";
}

export interface CommentRecord {
  readonly id: number;
  readonly issueNumber: number;
  body: string;
  readonly user: Actor;
  readonly createdAt: string;
  updatedAt: string;
}

export interface AnnotationRecord {
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

export interface CheckRunRecord {
  readonly id: number;
  name: string;
  readonly headSha: string;
  status: string;
  conclusion: string | null;
  startedAt: string | null;
  completedAt: string | null;
  detailsUrl: string | null;
  externalId: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  readonly annotations: AnnotationRecord[];
  /** How many requests carried annotations, and how many each. */
  readonly annotationBatches: number[];
}

export interface ArtifactRecord {
  readonly id: number;
  readonly name: string;
  /** The zip archive served on download. */
  readonly zip: Uint8Array;
  readonly expired: boolean;
  readonly createdAt: string;
}

export interface WorkflowRunRecord {
  readonly id: number;
  /** Workflow file name, e.g. `bench.yml`. */
  readonly workflowFile: string;
  readonly workflowId: number;
  readonly name: string;
  readonly headBranch: string;
  readonly headSha: string;
  readonly event: string;
  status: "queued" | "in_progress" | "completed";
  conclusion: "success" | "failure" | "cancelled" | "skipped" | null;
  readonly runNumber: number;
  readonly createdAt: string;
  readonly artifacts: ArtifactRecord[];
}

export interface PullRequestRecord {
  readonly number: number;
  readonly title: string;
  readonly state: "open" | "closed";
  readonly headSha: string;
  readonly headRef: string;
  /** `owner/name` of the head repository (another one for a fork). */
  readonly headRepository: string;
  readonly baseRef: string;
}

export interface SeedPullRequest {
  readonly number: number;
  readonly headSha: string;
  readonly headRef?: string;
  /** Default: the repository itself (not a fork). */
  readonly headRepository?: string;
  readonly baseRef?: string;
  readonly title?: string;
  readonly state?: "open" | "closed";
}

export interface ReleaseAssetRecord {
  readonly id: number;
  /** The name as GitHub stores it (see {@link githubAssetName}). */
  readonly name: string;
  readonly label: string | null;
  /** The media type the upload named. */
  readonly contentType: string;
  /** The bytes uploaded, served on download. */
  readonly data: Uint8Array;
  /** `sha256:<hex>` of the bytes, as GitHub reports it. */
  readonly digest: string;
  readonly uploader: Actor;
  readonly createdAt: string;
  /** Downloads through `browser_download_url`. */
  downloadCount: number;
}

export interface ReleaseRecord {
  readonly id: number;
  tagName: string;
  targetCommitish: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  readonly author: Actor;
  readonly createdAt: string;
  updatedAt: string;
  /** Null while a draft. */
  publishedAt: string | null;
  /** The tag a draft's URLs carry instead of its own (`untagged-…`), as on GitHub. */
  readonly untaggedName: string;
  /** In upload order. */
  readonly assets: ReleaseAssetRecord[];
}

export interface SeedReleaseAsset {
  readonly name: string;
  /** Text is stored as UTF-8. */
  readonly data: string | Uint8Array;
  readonly contentType?: string;
  readonly label?: string;
}

export interface SeedRelease {
  readonly tagName: string;
  readonly targetCommitish?: string;
  readonly name?: string | null;
  readonly body?: string | null;
  readonly draft?: boolean;
  readonly prerelease?: boolean;
  readonly assets?: readonly SeedReleaseAsset[];
}

export interface RepositoryState {
  readonly owner: string;
  readonly repo: string;
  readonly id: number;
  readonly comments: CommentRecord[];
  readonly checkRuns: Map<number, CheckRunRecord>;
  readonly workflowRuns: WorkflowRunRecord[];
  readonly workflows: Map<string, number>;
  readonly pullRequests: PullRequestRecord[];
  /** In creation order. */
  readonly releases: ReleaseRecord[];
}

export interface SeedArtifact {
  readonly name: string;
  /** Files to zip, by path inside the archive; or the archive bytes themselves. */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
  readonly zip?: Uint8Array;
  readonly expired?: boolean;
}

export interface SeedWorkflowRun {
  readonly workflowFile: string;
  readonly headBranch: string;
  readonly headSha?: string;
  readonly event?: string;
  readonly status?: WorkflowRunRecord["status"];
  readonly conclusion?: WorkflowRunRecord["conclusion"];
  /** ISO time; later runs are listed first. Default: now, in seeding order. */
  readonly createdAt?: string;
  readonly artifacts?: readonly SeedArtifact[];
}

/** Second-precision ISO time, as GitHub writes it. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class GitHubState {
  readonly #repos = new Map<string, RepositoryState>();
  #nextId = 1000;
  #clock = Date.UTC(2026, 0, 1);
  /** The account the server's token belongs to. */
  readonly actor: Actor;

  constructor(actor: Actor = { login: "github-actions[bot]", id: 41898282, type: "Bot" }) {
    this.actor = actor;
  }

  /** A new id, unique across everything in this server. */
  nextId(): number {
    return this.#nextId++;
  }

  /** A strictly increasing timestamp, so ordering by time is deterministic. */
  now(): string {
    this.#clock += 1000;
    return isoSeconds(new Date(this.#clock));
  }

  repository(owner: string, repo: string): RepositoryState {
    const key = `${owner.toLowerCase()}/${repo.toLowerCase()}`;
    let state = this.#repos.get(key);
    if (!state) {
      state = { owner, repo, id: this.nextId(), comments: [], checkRuns: new Map(), workflowRuns: [], workflows: new Map(), pullRequests: [], releases: [] };
      this.#repos.set(key, state);
    }
    return state;
  }

  /** The repository if it was used or seeded before. */
  findRepository(owner: string, repo: string): RepositoryState | undefined {
    return this.#repos.get(`${owner.toLowerCase()}/${repo.toLowerCase()}`);
  }

  /** Adds a comment as if someone had written it (default: another user). */
  addComment(owner: string, repo: string, issueNumber: number, body: string, user?: Actor): CommentRecord {
    const at = this.now();
    const comment: CommentRecord = { id: this.nextId(), issueNumber, body, user: user ?? { login: "octocat", id: 1, type: "User" }, createdAt: at, updatedAt: at };
    this.repository(owner, repo).comments.push(comment);
    return comment;
  }

  /** Comments on one issue or pull request, oldest first. */
  comments(owner: string, repo: string, issueNumber: number): CommentRecord[] {
    return (this.findRepository(owner, repo)?.comments ?? []).filter((c) => c.issueNumber === issueNumber);
  }

  /** Adds a workflow run (and its artifacts). */
  addWorkflowRun(owner: string, repo: string, seed: SeedWorkflowRun): WorkflowRunRecord {
    const state = this.repository(owner, repo);
    let workflowId = state.workflows.get(seed.workflowFile);
    if (workflowId === undefined) {
      workflowId = this.nextId();
      state.workflows.set(seed.workflowFile, workflowId);
    }
    const createdAt = seed.createdAt ?? this.now();
    const run: WorkflowRunRecord = {
      id: this.nextId(),
      workflowFile: seed.workflowFile,
      workflowId,
      name: seed.workflowFile.replace(/\.ya?ml$/, ""),
      headBranch: seed.headBranch,
      headSha: seed.headSha ?? (this.#nextId * 2654435761).toString(16).padStart(40, "0").slice(-40),
      event: seed.event ?? "push",
      status: seed.status ?? "completed",
      conclusion: seed.conclusion === undefined ? "success" : seed.conclusion,
      runNumber: state.workflowRuns.filter((r) => r.workflowId === workflowId).length + 1,
      createdAt,
      artifacts: (seed.artifacts ?? []).map((a) => ({
        id: this.nextId(),
        name: a.name,
        zip: a.zip ?? zipFiles(a.files ?? {}),
        expired: a.expired ?? false,
        createdAt,
      })),
    };
    state.workflowRuns.push(run);
    return run;
  }

  /** A workflow run by id, in one repository. */
  workflowRun(owner: string, repo: string, runId: number): WorkflowRunRecord | undefined {
    return this.findRepository(owner, repo)?.workflowRuns.find((r) => r.id === runId);
  }

  /** Uploads an artifact to a run, as actions/upload-artifact does while the run goes on. */
  uploadArtifact(owner: string, repo: string, runId: number, seed: SeedArtifact): ArtifactRecord {
    const run = this.workflowRun(owner, repo, runId);
    if (!run) throw new Error(`no workflow run ${runId} in ${owner}/${repo}`);
    const artifact: ArtifactRecord = { id: this.nextId(), name: seed.name, zip: seed.zip ?? zipFiles(seed.files ?? {}), expired: seed.expired ?? false, createdAt: this.now() };
    run.artifacts.push(artifact);
    return artifact;
  }

  /** Ends a run with a conclusion. */
  completeWorkflowRun(owner: string, repo: string, runId: number, conclusion: NonNullable<WorkflowRunRecord["conclusion"]>): WorkflowRunRecord {
    const run = this.workflowRun(owner, repo, runId);
    if (!run) throw new Error(`no workflow run ${runId} in ${owner}/${repo}`);
    run.status = "completed";
    run.conclusion = conclusion;
    return run;
  }

  /** Adds a pull request (for `pulls/get`). */
  addPullRequest(owner: string, repo: string, seed: SeedPullRequest): PullRequestRecord {
    const state = this.repository(owner, repo);
    const pr: PullRequestRecord = {
      number: seed.number,
      title: seed.title ?? `Pull request #${seed.number}`,
      state: seed.state ?? "open",
      headSha: seed.headSha,
      headRef: seed.headRef ?? `branch-${seed.number}`,
      headRepository: seed.headRepository ?? `${state.owner}/${state.repo}`,
      baseRef: seed.baseRef ?? "main",
    };
    state.pullRequests.push(pr);
    return pr;
  }

  /** An artifact by id, in any repository. */
  findArtifact(id: number): ArtifactRecord | undefined {
    for (const repo of this.#repos.values()) {
      for (const run of repo.workflowRuns) {
        const artifact = run.artifacts.find((a) => a.id === id);
        if (artifact) return artifact;
      }
    }
    return undefined;
  }

  /** A new release record, not yet added to a repository (the server checks GitHub's rules before adding it). */
  newRelease(seed: SeedRelease, author: Actor = this.actor): ReleaseRecord {
    const at = this.now();
    const id = this.nextId();
    const draft = seed.draft ?? false;
    return {
      id,
      tagName: seed.tagName,
      targetCommitish: seed.targetCommitish ?? "main",
      name: seed.name ?? null,
      body: seed.body ?? null,
      draft,
      prerelease: seed.prerelease ?? false,
      author,
      createdAt: at,
      updatedAt: at,
      publishedAt: draft ? null : at,
      untaggedName: `untagged-${createHash("sha1").update(`release ${id}`).digest("hex").slice(0, 20)}`,
      assets: [],
    };
  }

  /** A new asset record, not yet added to a release. */
  newReleaseAsset(seed: SeedReleaseAsset, uploader: Actor = this.actor): ReleaseAssetRecord {
    // A copy, so that the record owns exactly its bytes.
    const data = typeof seed.data === "string" ? new TextEncoder().encode(seed.data) : new Uint8Array(seed.data);
    return {
      id: this.nextId(),
      name: githubAssetName(seed.name),
      label: seed.label ?? null,
      contentType: seed.contentType ?? "application/octet-stream",
      data,
      digest: `sha256:${createHash("sha256").update(data).digest("hex")}`,
      uploader,
      createdAt: this.now(),
      downloadCount: 0,
    };
  }

  /** Adds a release (and its assets) as if someone had published it before; GitHub's rules are not checked. */
  addRelease(owner: string, repo: string, seed: SeedRelease): ReleaseRecord {
    const release = this.newRelease(seed);
    release.assets.push(...(seed.assets ?? []).map((a) => this.newReleaseAsset(a)));
    this.repository(owner, repo).releases.push(release);
    return release;
  }

  /** The releases of a repository, in creation order (the API lists them newest first). */
  releases(owner: string, repo: string): ReleaseRecord[] {
    return this.findRepository(owner, repo)?.releases ?? [];
  }

  /** A release by id, in one repository. */
  release(owner: string, repo: string, id: number): ReleaseRecord | undefined {
    return this.releases(owner, repo).find((r) => r.id === id);
  }

  /** The published release of a tag (drafts have no tag yet), as `repos/get-release-by-tag` finds it. */
  releaseByTag(owner: string, repo: string, tag: string): ReleaseRecord | undefined {
    return this.releases(owner, repo).find((r) => !r.draft && r.tagName === tag);
  }

  /** A release asset by id in one repository, with its release. */
  releaseAsset(owner: string, repo: string, id: number): { release: ReleaseRecord; asset: ReleaseAssetRecord } | undefined {
    for (const release of this.releases(owner, repo)) {
      const asset = release.assets.find((a) => a.id === id);
      if (asset) return { release, asset };
    }
    return undefined;
  }

  /** A check run by id, in any repository. */
  checkRun(owner: string, repo: string, id: number): CheckRunRecord | undefined {
    return this.findRepository(owner, repo)?.checkRuns.get(id);
  }
}

/**
 * The name GitHub gives an uploaded asset: it "renames asset filenames that
 * have special characters, non-alphanumeric characters, and leading or
 * trailing periods". As reported: every character other than ASCII letters,
 * digits, `-`, `_`, `+` and `.` becomes `.` (accents are dropped first),
 * runs of `.` become one, and leading or trailing `.` are removed. (A `+`
 * sent unencoded in the query is a space, so it becomes `.` too.) GitHub
 * transliterates some other letters (`æ` → `ae`) where this gives `.`.
 */
export function githubAssetName(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9._+-]/g, ".")
    .replace(/\.{2,}/g, ".")
    .replace(/^\.+|\.+$/g, "");
}

/** A zip archive of the given files (text as UTF-8). */
export function zipFiles(files: Readonly<Record<string, string | Uint8Array>>): Uint8Array {
  const entries: Record<string, Uint8Array> = {};
  for (const [path, content] of Object.entries(files)) entries[path] = typeof content === "string" ? new TextEncoder().encode(content) : content;
  return zipSync(entries, { mtime: new Date(Date.UTC(2026, 0, 1)) });
}
