/**
 * The change to plan for, read from git: the files touched between two
 * commits (or between a commit and the working tree) and the manifest as it
 * was on the base. The bench-on-device-matrix action's plan mode and
 * `slmops plan` both read it here, so they plan the same matrix for the same
 * change.
 */
import { relative, sep } from "node:path";
import { parseManifest } from "@slmops/manifest";
import type { Manifest } from "@slmops/manifest";
import { changedFiles, defaultBranch, fileAt, mergeBase, repositoryTop, resolveCommit, workingTreeChanged } from "./git.js";
import type { Change } from "./touched.js";

export interface GitChangeInput {
  /** Absolute path of the manifest (after the change). */
  readonly manifestFile: string;
  /** Absolute root the manifest's paths resolve against. */
  readonly root: string;
  /**
   * The commits to compare; undefined when there is nothing to compare (a new
   * branch, a manual run): every device is planned. Without `head`, the
   * working tree is the head.
   */
  readonly range?: { readonly base: string; readonly head?: string };
}

/** What {@link changeFromGit} found. */
export interface GitChange {
  /** The change for `planDevices`; undefined when every device is to be planned. */
  readonly change?: Change;
  /** The manifest's root relative to the repository's top directory, `/`-separated. */
  readonly rootInRepository: string;
  /** Something the user should know about how the change was read (a shallow clone, no git). */
  readonly note?: string;
}

function toPosix(path: string): string {
  return path.split(sep).join("/");
}

/**
 * Reads the change from git. What git cannot tell is not an error: the plan
 * falls back to every device (or the files between the two commits) and says
 * why in `note`.
 */
export async function changeFromGit(input: GitChangeInput): Promise<GitChange> {
  const { manifestFile, root, range } = input;
  let top: string;
  try {
    top = await repositoryTop(root);
  } catch (error) {
    return { rootInRepository: "", note: `the manifest is not in a git checkout (${(error as Error).message}); every device is planned` };
  }
  const rootInRepository = toPosix(relative(top, root));
  if (!range) return { rootInRepository };
  let files: string[];
  let note: string | undefined;
  try {
    const diff = await changedFiles(top, range.base, range.head);
    files = diff.files;
    if (!diff.exact) note = "the checkout has no merge base of the change (fetch more history, e.g. `fetch-depth: 0`); the files changed between base and head were used";
  } catch (error) {
    return { rootInRepository, note: `the changed files could not be listed (${(error as Error).message}); every device is planned` };
  }
  const noted = note ? { note } : {};
  const manifestInRepository = toPosix(relative(top, manifestFile));
  const text = await fileAt(top, range.base, manifestInRepository);
  if (text === undefined) return { change: { files }, rootInRepository, ...noted };
  const base = await parseManifest(text, { file: manifestFile, root, checkFiles: false, displayPath: `${manifestInRepository} (base ${range.base.slice(0, 7)})` });
  if (!base.ok) {
    return { change: { files, noBaseReason: "the base branch's manifest does not load, so nothing can be compared" }, rootInRepository, ...noted };
  }
  return { change: { files, baseManifest: base.manifest as Manifest }, rootInRepository, ...noted };
}

/** The commits a local plan compares, and how the base was chosen (for the user). */
export interface LocalRange {
  /** The base commit; undefined when there is none (a repository with one commit and a clean tree). */
  readonly base?: string;
  /** The head commit; undefined: the working tree. */
  readonly head?: string;
  /** The base and the head, in words. */
  readonly description: string;
}

/** A ref that names no commit here: a user's mistake, with what to do. */
export class UnknownRefError extends Error {
  constructor(
    readonly option: "base" | "head",
    readonly ref: string,
  ) {
    super(`--${option} ${ref}: no such commit in this repository (a branch, tag or commit id; fetch it first if it is remote)`);
  }
}

/**
 * The range `slmops plan` compares, from the `--base` and `--head` refs
 * given. The head defaults to the working tree, uncommitted and untracked
 * files included. The base defaults to where the branch left the default
 * branch (the merge base of `HEAD` with `origin/HEAD`, `main` or `master`) —
 * what a pull request from this branch shows; on the default branch itself,
 * `HEAD` when the working tree has changes, else `HEAD~1` (what a push of the
 * last commit plans).
 */
export async function localRange(dir: string, given: { readonly base?: string; readonly head?: string } = {}): Promise<LocalRange> {
  const top = await repositoryTop(dir);
  let head: string | undefined;
  if (given.head !== undefined) {
    head = await resolveCommit(top, given.head);
    if (!head) throw new UnknownRefError("head", given.head);
  }
  const headWords = given.head === undefined ? "the working tree" : `${given.head} (${head?.slice(0, 7) ?? ""})`;
  if (given.base !== undefined) {
    const base = await resolveCommit(top, given.base);
    if (!base) throw new UnknownRefError("base", given.base);
    return { base, ...(head ? { head } : {}), description: `${given.base} (${base.slice(0, 7)}) → ${headWords}` };
  }
  const headCommit = head ?? (await resolveCommit(top, "HEAD"));
  if (!headCommit) return { description: `no commit yet → ${headWords}` };
  const branch = await defaultBranch(top);
  if (branch) {
    const since = await mergeBase(top, branch, headCommit);
    if (since && since !== headCommit) {
      return { base: since, ...(head ? { head } : {}), description: `where ${given.head ?? "HEAD"} left ${branch} (${since.slice(0, 7)}) → ${headWords}` };
    }
  }
  if (given.head === undefined && (await workingTreeChanged(top))) {
    return { base: headCommit, description: `HEAD (${headCommit.slice(0, 7)}) → the working tree` };
  }
  const parent = await resolveCommit(top, `${headCommit}~1`);
  if (!parent) return { ...(head ? { head } : {}), description: `no commit before ${headCommit.slice(0, 7)} → ${headWords}` };
  return { base: parent, ...(head ? { head } : {}), description: `the commit before (${parent.slice(0, 7)}) → ${headWords}` };
}
