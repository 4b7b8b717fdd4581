/**
 * What a GitHub Release of a version holds: every file of its targets, its
 * signed provenance, and the repository's metadata as the publish left it
 * (every root version, so a device can be set up from the release alone).
 */
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { readRegularFile } from "@slmops/contained-fs";
import { ConfigurationError } from "@slmops/action-kit";
import { metadataDirectory, storedTargetPath, type PublishedReleases, type RepositoryState } from "@slmops/edge-release";
import type { AssetFile } from "./github-release.js";

const MAX_METADATA_BYTES = 64 * 1024 * 1024;

/** `stable/story-lm/1.4.0/rpi5/model.onnx` → `story-lm-rpi5-model.onnx` (asset names cannot hold `/`). */
export function assetName(targetPath: string): string {
  const parts = targetPath.split("/");
  // <channel>/<model>/<version>/<device class>/<file>
  return [parts[1], parts[3], parts.slice(4).join("-")].join("-");
}

async function metadataAsset(dir: string, name: string): Promise<AssetFile> {
  const file = join(metadataDirectory(dir), name);
  const bytes = await readRegularFile(file, { maxBytes: MAX_METADATA_BYTES, what: "release metadata", noFollow: true });
  return { name, file, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex"), contentType: "application/json" };
}

/** The assets of the published releases, in a stable order, names unique. */
export async function releaseAssets(dir: string, published: PublishedReleases, state: RepositoryState): Promise<AssetFile[]> {
  const assets: AssetFile[] = [];
  for (const { release, result } of published.results) {
    for (const path of result.paths) {
      const entry = state.targets.signed.targets[path];
      const sha256 = entry?.hashes["sha256"];
      if (!entry || !sha256) throw new Error(`target ${path} is missing from the targets metadata just written`);
      assets.push({ name: assetName(path), file: storedTargetPath(dir, path, sha256), bytes: entry.length, sha256, contentType: "application/octet-stream" });
    }
    const provenance = await metadataAsset(dir, result.provenance.replace(/^metadata\//, ""));
    assets.push({ ...provenance, name: `${release.model}-${release.version}.provenance.intoto.json` });
  }
  const roots = (await readdir(metadataDirectory(dir))).filter((name) => /^[1-9]\d*\.root\.json$/.test(name)).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  for (const name of roots) assets.push(await metadataAsset(dir, name));
  const snapshotMeta = state.snapshot.signed.meta;
  for (const role of ["targets", "rollout"]) {
    const version = snapshotMeta[`${role}.json`]?.version;
    if (version !== undefined) assets.push(await metadataAsset(dir, `${version}.${role}.json`));
  }
  assets.push(await metadataAsset(dir, `${state.timestamp.signed.snapshotMeta.version}.snapshot.json`));
  assets.push(await metadataAsset(dir, "timestamp.json"));
  const seen = new Set<string>();
  for (const asset of assets) {
    if (seen.has(asset.name)) {
      throw new ConfigurationError(`two released files would share the asset name ${asset.name} on the GitHub Release; rename a device class or a variant file so that model-device-file names differ, or set \`github-release: false\``);
    }
    seen.add(asset.name);
  }
  return assets;
}
