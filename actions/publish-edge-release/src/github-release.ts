/**
 * The GitHub Release of a published version: created for its tag on the
 * first run, updated on the next, with the release's files and metadata as
 * assets. An asset already there with the same sha256 (GitHub's `digest`) is
 * kept; one with other bytes is replaced; nothing else on the release is
 * touched. Uploads stream from disk.
 */
import { createReadStream } from "node:fs";
import type * as github from "@actions/github";
import { ConfigurationError } from "@slmops/action-kit";

type Octokit = ReturnType<typeof github.getOctokit>;

/** GitHub refuses release assets of 2 GiB and more. */
export const MAX_ASSET_BYTES = 2 * 1024 * 1024 * 1024 - 1;

export interface AssetFile {
  /** The asset's name on the release (GitHub allows no `/`). */
  readonly name: string;
  /** The file on disk. */
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly contentType: string;
}

export interface GitHubReleaseSpec {
  readonly owner: string;
  readonly repo: string;
  readonly tag: string;
  /** The commit a new tag is created on. */
  readonly commitish: string;
  readonly name: string;
  readonly body: string;
  readonly prerelease: boolean;
}

export interface SyncedRelease {
  readonly url: string;
  readonly id: number;
  readonly created: boolean;
  readonly uploaded: readonly string[];
  readonly replaced: readonly string[];
  readonly kept: readonly string[];
  /** Assets left out, with why (too large for GitHub). */
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
}

function status(error: unknown): number | undefined {
  return typeof error === "object" && error !== null && "status" in error && typeof error.status === "number" ? error.status : undefined;
}

/** A refusal GitHub gives the token (no `contents: write`, a protected tag) is the user's to fix. */
function explained(error: unknown, doing: string): Error {
  const code = status(error);
  if (code === 401 || code === 403 || code === 404) {
    return new ConfigurationError(
      `GitHub refused ${doing} (HTTP ${code}): the token needs \`contents: write\` on the repository (set \`permissions: contents: write\` on the job), and the tag must not be protected against it.`,
      { cause: error },
    );
  }
  return new Error(`${doing} failed`, { cause: error });
}

async function findOrCreate(octokit: Octokit, spec: GitHubReleaseSpec): Promise<{ id: number; url: string; uploadUrl: string; created: boolean }> {
  let existing: Awaited<ReturnType<Octokit["rest"]["repos"]["getReleaseByTag"]>>["data"] | undefined;
  try {
    existing = (await octokit.rest.repos.getReleaseByTag({ owner: spec.owner, repo: spec.repo, tag: spec.tag })).data;
  } catch (error) {
    if (status(error) !== 404) throw explained(error, `reading the release of tag ${spec.tag}`);
  }
  if (existing) {
    const { data } = await octokit.rest.repos
      .updateRelease({ owner: spec.owner, repo: spec.repo, release_id: existing.id, name: spec.name, body: spec.body, prerelease: spec.prerelease })
      .catch((error: unknown) => {
        throw explained(error, `updating the release of tag ${spec.tag}`);
      });
    return { id: data.id, url: data.html_url, uploadUrl: data.upload_url, created: false };
  }
  const { data } = await octokit.rest.repos
    .createRelease({ owner: spec.owner, repo: spec.repo, tag_name: spec.tag, target_commitish: spec.commitish, name: spec.name, body: spec.body, prerelease: spec.prerelease, draft: false })
    .catch((error: unknown) => {
      throw explained(error, `creating the release of tag ${spec.tag}`);
    });
  return { id: data.id, url: data.html_url, uploadUrl: data.upload_url, created: true };
}

/** Creates or updates the release and brings its assets up to date. `log` hears each upload. */
export async function syncGitHubRelease(octokit: Octokit, spec: GitHubReleaseSpec, assets: readonly AssetFile[], log: (line: string) => void): Promise<SyncedRelease> {
  const release = await findOrCreate(octokit, spec);
  const present = await octokit
    .paginate(octokit.rest.repos.listReleaseAssets, { owner: spec.owner, repo: spec.repo, release_id: release.id, per_page: 100 })
    .catch((error: unknown) => {
      throw explained(error, `listing the assets of the release of tag ${spec.tag}`);
    });
  const byName = new Map(present.map((asset) => [asset.name, asset]));
  const uploaded: string[] = [];
  const replaced: string[] = [];
  const kept: string[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const asset of assets) {
    if (asset.bytes > MAX_ASSET_BYTES) {
      skipped.push({ name: asset.name, reason: `${asset.bytes} bytes: GitHub takes release assets under 2 GiB (the TUF repository serves it)` });
      continue;
    }
    const old = byName.get(asset.name);
    if (old && old.digest === `sha256:${asset.sha256}` && old.size === asset.bytes) {
      kept.push(asset.name);
      continue;
    }
    if (old) {
      await octokit.rest.repos.deleteReleaseAsset({ owner: spec.owner, repo: spec.repo, asset_id: old.id }).catch((error: unknown) => {
        throw explained(error, `replacing asset ${asset.name}`);
      });
    }
    log(`Uploading ${asset.name} (${asset.bytes} bytes)`);
    await octokit.rest.repos
      .uploadReleaseAsset({
        owner: spec.owner,
        repo: spec.repo,
        release_id: release.id,
        url: release.uploadUrl,
        name: asset.name,
        // Streamed from disk: octokit sends a stream body as is (fetch, duplex "half").
        data: createReadStream(asset.file) as unknown as string,
        headers: { "content-type": asset.contentType, "content-length": asset.bytes },
      })
      .catch((error: unknown) => {
        throw explained(error, `uploading asset ${asset.name}`);
      });
    (old ? replaced : uploaded).push(asset.name);
  }
  return { url: release.url, id: release.id, created: release.created, uploaded, replaced, kept, skipped };
}
