#!/usr/bin/env node
/* global process, console */
// Releases the repository's GitHub Actions as one version.
//
// Every action's package (`@slmops/<name>-action`) shares one version through
// the changesets fixed group. This script bundles each action's `dist/`, then,
// with --tag, records the bundles on a release commit made on top of HEAD
// (the branch itself does not move: `dist/` stays out of main), tags that
// commit `vX.Y.Z` and moves the major tag (`v1`) to it, so users can pin either.
//
//   node scripts/release.mjs                 bundle every action's dist/
//   node scripts/release.mjs --tag           ... and tag a release commit
//   node scripts/release.mjs --tag --push    ... and push both tags
//   node scripts/release.mjs --dry-run ...   print what would happen, change nothing
//
// A version that is already tagged is not released again (exit 0), so the
// release workflow can run this on every push to main.
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bundleAction, listActions } from "./bundle-action.mjs";

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?$/;

class ReleaseError extends Error {}

function parseCli(argv) {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        "dry-run": { type: "boolean" },
        tag: { type: "boolean" },
        push: { type: "boolean" },
        remote: { type: "string" },
        root: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    return values;
  } catch (error) {
    throw new ReleaseError(`${error.message}\nUsage: node scripts/release.mjs [--tag] [--push] [--remote origin] [--dry-run]`);
  }
}

/** The one version every action package carries; refuses when they differ. */
export function actionsVersion(actionDirs) {
  const versions = new Map();
  for (const dir of actionDirs) {
    const file = join(dir, "package.json");
    if (!existsSync(file)) throw new ReleaseError(`${basename(dir)}: no package.json; every action is a workspace package.`);
    const pkg = JSON.parse(readFileSync(file, "utf8"));
    if (typeof pkg.version !== "string" || !SEMVER.test(pkg.version)) {
      throw new ReleaseError(`${pkg.name ?? basename(dir)}: version \`${pkg.version}\` is not semver X.Y.Z.`);
    }
    versions.set(pkg.name ?? basename(dir), pkg.version);
  }
  const distinct = new Set(versions.values());
  if (distinct.size !== 1) {
    const list = [...versions].map(([name, v]) => `${name}@${v}`).join(", ");
    throw new ReleaseError(
      `The actions must share one version (changesets fixed group), but they have: ${list}. Run \`pnpm changeset version\`.`,
    );
  }
  return [...distinct][0];
}

/** `vX.Y.Z`, and the major tag to move (none for a prerelease). */
export function releaseTags(version) {
  const match = SEMVER.exec(version);
  if (!match) throw new ReleaseError(`\`${version}\` is not semver X.Y.Z.`);
  return { tag: `v${version}`, major: match[4] === undefined ? `v${match[1]}` : undefined };
}

function git(root, args, env = {}) {
  return execFileSync("git", args, { cwd: root, encoding: "utf8", env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] }).trim();
}

function tagExists(root, tag) {
  try {
    git(root, ["rev-parse", "--verify", "--quiet", `refs/tags/${tag}`]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes a commit whose parent is HEAD and whose tree is HEAD's plus the given
 * (git-ignored) paths, using a private index so neither the branch nor the
 * user's index changes.
 */
function commitWithPaths(root, paths, message) {
  const dir = mkdtempSync(join(tmpdir(), "slmops-release-"));
  const env = { GIT_INDEX_FILE: join(dir, "index") };
  try {
    git(root, ["read-tree", "HEAD"], env);
    git(root, ["add", "--force", "--", ...paths], env);
    const tree = git(root, ["write-tree"], env);
    return git(root, ["commit-tree", tree, "-p", "HEAD", "-m", message], env);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function setOutput(name, value) {
  const file = process.env.GITHUB_OUTPUT;
  if (file) appendFileSync(file, `${name}=${value}\n`);
}

export async function release(argv, log = console.log) {
  const options = parseCli(argv);
  if (options.help) {
    log("Usage: node scripts/release.mjs [--tag] [--push] [--remote origin] [--dry-run] [--root dir]");
    return 0;
  }
  if (options.push && !options.tag) throw new ReleaseError("--push pushes the release tags; use it with --tag.");
  const root = resolve(options.root ?? dirname(dirname(fileURLToPath(import.meta.url))));
  const dry = options["dry-run"] === true;
  const remote = options.remote ?? "origin";
  const actions = listActions(root);
  if (actions.length === 0) throw new ReleaseError(`No actions under ${join(root, "actions")} (each needs an action.yml).`);
  const version = actionsVersion(actions);
  const { tag, major } = releaseTags(version);
  const say = (text) => log(dry ? `[dry-run] ${text}` : text);

  if (options.tag && tagExists(root, tag)) {
    log(`${tag} is already released; nothing to do.`);
    setOutput("released", "false");
    return 0;
  }

  let head = "";
  if (options.tag) {
    head = git(root, ["rev-parse", "HEAD"]);
    const dirty = git(root, ["status", "--porcelain", "--untracked-files=no"]);
    if (dirty !== "") {
      throw new ReleaseError(`Uncommitted changes; a release is built from a clean checkout of HEAD:\n${dirty}`);
    }
  }

  const dists = [];
  for (const dir of actions) {
    const dist = relative(root, join(dir, "dist")).split("\\").join("/");
    dists.push(dist);
    if (dry) {
      say(`would bundle ${basename(dir)} into ${dist}/index.js`);
    } else {
      const { bytes } = await bundleAction(dir);
      log(`bundled ${basename(dir)} into ${dist}/index.js (${(bytes / 1024).toFixed(0)} KiB)`);
    }
  }
  if (!options.tag) return 0;

  const message = `Release ${tag}\n\nBundled actions: ${actions.map((d) => basename(d)).join(", ")}.`;
  if (dry) {
    say(`would commit ${dists.join(", ")} on a release commit whose parent is ${head.slice(0, 12)} (HEAD)`);
    say(`would tag it ${tag}${major ? ` and move ${major} to it` : " (a prerelease: no major tag moves)"}`);
    if (options.push) say(`would push ${tag}${major ? ` and force-push ${major}` : ""} to ${remote}`);
    return 0;
  }
  const commit = commitWithPaths(root, dists, message);
  git(root, ["tag", "--annotate", tag, commit, "--message", `slmops ${tag}`]);
  log(`tagged ${tag} at ${commit.slice(0, 12)} (release commit on top of ${head.slice(0, 12)})`);
  if (major) {
    git(root, ["tag", "--force", major, commit]);
    log(`moved ${major} to ${tag}`);
  }
  if (options.push) {
    git(root, ["push", remote, `refs/tags/${tag}`]);
    if (major) git(root, ["push", "--force", remote, `refs/tags/${major}`]);
    log(`pushed ${tag}${major ? ` and ${major}` : ""} to ${remote}`);
  }
  setOutput("released", "true");
  setOutput("tag", tag);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = await release(process.argv.slice(2));
  } catch (error) {
    if (error instanceof ReleaseError) {
      console.error(`release: ${error.message}`);
    } else {
      const detail = error?.stderr ? String(error.stderr).trim() : "";
      console.error(`release: failed unexpectedly: ${error instanceof Error ? error.message : String(error)}${detail ? `\n${detail}` : ""}`);
    }
    process.exitCode = 1;
  }
}
