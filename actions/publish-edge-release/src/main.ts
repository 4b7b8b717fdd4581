import { existsSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import * as core from "@actions/core";
import * as github from "@actions/github";
import {
  code,
  ConfigurationError,
  escapeHtml,
  getBooleanInput,
  getPathInput,
  getStringInput,
  heading,
  setOutputs,
  table,
  workspaceDirectory,
  writeSummary,
} from "@slmops/action-kit";
import { octokit } from "@slmops/action-kit/github";
import { ensureOutputDirectory } from "@slmops/contained-fs";
import * as edge from "@slmops/edge-release";
import { loadManifest } from "@slmops/manifest";
import { formatSize } from "@slmops/units";
import { DEFAULT_VARIANTS_DIR } from "@slmops/variant-identity";
import { releaseAssets } from "./assets.js";
import { attestFiles, attestMode, type AttestOutcome } from "./attestation.js";
import { syncGitHubRelease, type SyncedRelease } from "./github-release.js";
import { hasKey, keyEnvironment, keyInput } from "./keys.js";
import { releaseVersion } from "./version.js";

/** One entry of the `targets` output. */
export interface TargetOutput {
  readonly model: string;
  readonly "device-class": string;
  readonly variant: string;
  /** The variant's identity digest (`@slmops/variant-identity`), as bench reported it. */
  readonly digest: string;
  /** The TUF target paths of its files. */
  readonly paths: readonly string[];
  readonly verdict: string;
}

const COMMIT = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/**
 * The action: build the releases the manifest's `release:` section names from
 * the built variants and the gate's verdict, sign them into the TUF
 * repository in `repository-dir` (created on the first run), attach the files
 * and metadata to a GitHub Release, and attest them.
 */
export async function main(): Promise<void> {
  const workspace = workspaceDirectory();
  const shown = (path: string) => relative(workspace, path).split(sep).join("/") || ".";
  const manifest = getPathInput("manifest", { fallback: "slmops.yaml" });
  if (!manifest) throw new ConfigurationError("Input `manifest` is empty; name the manifest file, e.g. `slmops.yaml`.");
  if (!existsSync(manifest.absolute) || !statSync(manifest.absolute).isFile()) {
    throw new ConfigurationError(`Manifest \`${manifest.relative}\` not found in the workspace. Check out the repository first (actions/checkout) or set the \`manifest\` input to its path.`);
  }
  const loaded = await loadManifest(manifest.absolute, { checkFiles: false, displayPath: manifest.relative });
  if (!loaded.ok) {
    const errors = loaded.diagnostics.filter((d) => d.severity === "error").length;
    throw new ConfigurationError(`${manifest.relative} is invalid: ${errors} problem${errors === 1 ? "" : "s"}, each annotated on its line. Fix them (slmops validate shows them locally) and run again.`, {
      diagnostics: loaded.diagnostics,
    });
  }
  const variantsDir = getPathInput("variants-dir")?.absolute ?? join(loaded.root, DEFAULT_VARIANTS_DIR);
  const repositoryDir = getPathInput("repository-dir", { fallback: "edge-release" });
  if (!repositoryDir) throw new ConfigurationError("Input `repository-dir` is empty; name the directory the release repository is kept in, e.g. `edge-release`.");
  const force = getBooleanInput("force");
  const verdictPath = getPathInput("verdict");
  const verdictGiven = verdictPath !== undefined && existsSync(verdictPath.absolute);
  if (verdictPath && !verdictGiven && !force) {
    throw new ConfigurationError(
      `The gate's verdict \`${verdictPath.relative}\` is not in the workspace. Download the gate job's verdict artifact there (the gate action writes \`slmops-gate/slmops-verdict.json\`), or set \`force: true\` to publish without a passing gate (recorded in the signed metadata).`,
    );
  }
  const sourceCommit = (process.env.GITHUB_SHA ?? "").toLowerCase();
  if (!COMMIT.test(sourceCommit)) throw new ConfigurationError("GITHUB_SHA is not a commit id; run the action in a GitHub Actions job (a release records the commit it was built from).");
  const { version, from } = releaseVersion(getStringInput("version"), process.env.GITHUB_REF, sourceCommit);
  const channelInput = getStringInput("channel");
  if (channelInput !== "") {
    try {
      edge.checkChannel(channelInput);
    } catch (error) {
      throw new ConfigurationError(`Input \`channel\` (\`${channelInput}\`) cannot name a channel: use lowercase letters, digits, '.', '_' and '-'.`, { cause: error });
    }
  }
  const mode = attestMode(getStringInput("attest", { fallback: "auto" }));
  const githubRelease = getBooleanInput("github-release", { fallback: true });
  const token = getStringInput("token");
  if (githubRelease && token === "") throw new ConfigurationError("Input `token` is empty; the GitHub Release needs a token with `contents: write` (or set `github-release: false`).");

  core.info(`Version ${version} (${from === "input" ? "the `version` input" : from === "tag" ? `tag ${process.env.GITHUB_REF ?? ""}` : `commit ${sourceCommit.slice(0, 12)}`})`);
  const releases = await edge.releasesFromManifest({
    manifest: loaded.manifest,
    manifestFile: manifest.absolute,
    manifestDisplay: manifest.relative,
    variantsDir,
    verdict: verdictGiven ? await edge.readGateVerdict(verdictPath.absolute, `the \`verdict\` input (${verdictPath.relative})`) : undefined,
    sourceCommit,
    version,
    ...(channelInput !== "" ? { channel: channelInput } : {}),
  });
  // Everything that needs no key is checked before a key is read or a file is written.
  edge.refuseUnlessPassed(releases, { force, verdictGiven, wording: { verdict: "input `verdict`", force: "set input `force` to true" } });
  const forced = edge.gateFailures(releases);
  if (forced.length > 0) core.warning(`Publishing although the gate did not pass on ${forced.join(", ")} (\`force: true\`); the signed metadata records it.`);

  await ensureOutputDirectory(workspace, repositoryDir.absolute);
  const creating = !(await edge.hasRepository(repositoryDir.absolute));
  if (creating && !hasKey("root")) {
    throw new ConfigurationError(
      `\`${repositoryDir.relative}\` holds no release repository, and creating one needs the root key. Restore the repository the static host serves into \`${repositoryDir.relative}\` before this step (see the action's README), or pass \`${keyInput("root")}\` once to create a new repository.`,
    );
  }
  const env = keyEnvironment();
  const published = await edge.publishReleases(repositoryDir.absolute, releases, { env, force, ...(loaded.manifest.release ? { expiry: loaded.manifest.release.expiryMs } : {}) });
  const state = await edge.loadRepository(repositoryDir.absolute);
  const changed = published.results.some((r) => r.result.changed);
  if (published.created) core.info(`Created the release repository in ${repositoryDir.relative}; devices trust ${repositoryDir.relative}/metadata/1.root.json`);
  for (const { release: r, result } of published.results) {
    core.info(result.changed ? `Published ${r.model} ${r.version} on ${r.channel} for ${r.targets.map((t) => t.deviceClass).join(", ")}` : `${r.model} ${r.version} on ${r.channel} is already published; nothing written`);
  }

  const targets: TargetOutput[] = published.results.flatMap(({ release: r, result }) =>
    r.targets.map((t) => ({
      model: r.model,
      "device-class": t.deviceClass,
      variant: t.variant,
      digest: t.identity.digest,
      paths: result.paths.filter((p) => p.split("/")[3] === t.deviceClass),
      verdict: t.verdict.outcome,
    })),
  );
  const channel = releases[0]?.channel ?? "";
  const tag = getStringInput("release-tag") || `slmops-${channel}-v${version}`;
  const { owner, repo } = github.context.repo;

  let synced: SyncedRelease | undefined;
  if (githubRelease) {
    const assets = await releaseAssets(repositoryDir.absolute, published, state);
    synced = await syncGitHubRelease(
      octokit(token),
      { owner, repo, tag, commitish: sourceCommit, name: `${releases.map((r) => r.model).join(", ")} ${version} (${channel})`, body: releaseBody(releases, forced, version, channel), prerelease: version.includes("-") || channel !== "stable" },
      assets,
      (line) => core.info(line),
    );
    for (const skipped of synced.skipped) core.warning(`Not attached to the GitHub Release: ${skipped.name} (${skipped.reason}).`);
  }

  const subjects = changed ? published.results.filter((r) => r.result.changed).flatMap(({ result }) => result.paths.map((path) => ({ name: path, sha256: state.targets.signed.targets[path]?.hashes["sha256"] ?? "" }))) : [];
  const attestation = await attestFiles(mode, subjects, token, { owner, repo });

  setOutputs({
    version,
    channel,
    published: changed ? "true" : "false",
    "repository-path": repositoryDir.relative,
    "root-path": `${repositoryDir.relative}/metadata/1.root.json`,
    "release-tag": githubRelease ? tag : "",
    "release-url": synced?.url ?? "",
    targets: JSON.stringify(targets),
    "attestation-url": attestation.attested ? (attestation.url ?? "") : "",
  });
  await writeSummary(summary({ version, channel, changed, created: published.created, targets, forced, repository: shown(repositoryDir.absolute), releases, synced, attestation }));
}

function releaseBody(releases: readonly edge.Release[], forced: readonly string[], version: string, channel: string): string {
  const lines = [`Signed edge release **${version}** on channel \`${channel}\`, built from ${releases[0]?.sourceCommit ?? ""}.`, "", "| Model | Device class | Variant | Digest | Gate |", "| --- | --- | --- | --- | --- |"];
  for (const r of releases) for (const t of r.targets) lines.push(`| ${r.model} | ${t.deviceClass} | ${t.variant} | \`${t.identity.digest.slice(0, 16)}\` | ${t.verdict.outcome} |`);
  if (forced.length > 0) lines.push("", `Published without a passing gate on ${forced.join(", ")} (forced; recorded in the signed metadata).`);
  lines.push(
    "",
    "Devices take this release from the TUF repository, not from these assets: the assets are a copy of the files and of the metadata that signs them.",
    "Check a copy of the repository as a device would with `slmops release verify --repo <url or directory> --root 1.root.json`.",
  );
  return lines.join("\n");
}

interface SummaryInput {
  readonly version: string;
  readonly channel: string;
  readonly changed: boolean;
  readonly created: boolean;
  readonly targets: readonly TargetOutput[];
  readonly forced: readonly string[];
  readonly repository: string;
  readonly releases: readonly edge.Release[];
  readonly synced: SyncedRelease | undefined;
  readonly attestation: AttestOutcome;
}

/** A paragraph of HTML the caller built (untrusted parts escaped or in {@link code}). */
const html = (text: string): string => `<p>${text}</p>\n`;

function summary(s: SummaryInput): string[] {
  const bytesOf = (model: string, deviceClass: string) =>
    s.releases.find((r) => r.model === model)?.targets.find((t) => t.deviceClass === deviceClass)?.identity.files.reduce((sum, f) => sum + f.bytes, 0) ?? 0;
  const fragments = [
    heading(`Edge release ${s.version} (${s.channel})`),
    html(
      s.changed
        ? `Signed into the release repository ${code(s.repository)}${s.created ? " (created by this run; devices are installed with its metadata/1.root.json)" : ""}. Deploy that directory to the static host the devices read.`
        : `Already published: the repository ${code(s.repository)} holds this version with the same content; nothing was written.`,
    ),
    table(
      ["Model", "Device class", "Variant", "Size", "Digest", "Gate"],
      s.targets.map((t) => [t.model, t["device-class"], t.variant, formatSize(bytesOf(t.model, t["device-class"])), { html: code(t.digest.slice(0, 12)) }, t.verdict]),
    ),
  ];
  if (s.forced.length > 0) fragments.push(html(`⚠️ Published without a passing gate on ${escapeHtml(s.forced.join(", "))} (${code("force: true")}); the signed metadata records it.`));
  if (s.synced) {
    const counts = [`${s.synced.uploaded.length} uploaded`, `${s.synced.replaced.length} replaced`, `${s.synced.kept.length} unchanged`, ...(s.synced.skipped.length > 0 ? [`${s.synced.skipped.length} too large for GitHub`] : [])];
    fragments.push(html(`GitHub Release: <a href="${escapeHtml(s.synced.url)}">${s.synced.created ? "created" : "updated"}</a> — assets ${counts.join(", ")}.`));
  }
  fragments.push(html(s.attestation.attested ? `Attestation: ${s.attestation.url ? `<a href="${escapeHtml(s.attestation.url)}">build provenance</a>` : "build provenance"} of ${s.attestation.subjects} file(s).` : `Attestation: not made (${escapeHtml(s.attestation.reason)}).`));
  fragments.push(html(`The rollout starts when the promote job runs ${code("slmops release promote")} (it holds the rollout key, not this job's).`));
  return fragments;
}
