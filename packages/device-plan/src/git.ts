/**
 * The little of git a plan needs: the files a change touched, a file as it
 * was on a commit, and the commits a local plan compares. Refs and commit ids
 * are passed as arguments (never through a shell), after `--end-of-options`
 * where git would otherwise read them as options.
 */
import { execFile } from "node:child_process";

/** Largest output read from git (a list of changed files, a manifest). */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** Runs git in `cwd` and returns its stdout; rejects with git's stderr. */
export function git(args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("git", [...args], { cwd, maxBuffer: MAX_OUTPUT_BYTES, encoding: "utf8", env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`git ${args[0] ?? ""} failed: ${(stderr || error.message).trim()}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

/** The top directory of the repository holding `dir`. */
export async function repositoryTop(dir: string): Promise<string> {
  return (await git(["rev-parse", "--show-toplevel"], dir)).trim();
}

async function hasCommit(top: string, sha: string): Promise<boolean> {
  return git(["cat-file", "-e", `${sha}^{commit}`], top).then(
    () => true,
    () => false,
  );
}

/** Makes sure the commits are in the clone, fetching the missing ones from `origin` (a shallow checkout lacks them). */
export async function ensureCommits(top: string, shas: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const sha of shas) if (!(await hasCommit(top, sha))) missing.push(sha);
  if (missing.length === 0) return;
  await git(["fetch", "--no-tags", "--quiet", "origin", ...missing], top);
}

const parseNames = (out: string) => out.split("\0").filter((f) => f !== "");

/**
 * The files changed between `base` and `head`, relative to the repository
 * root: since their merge base (`base...head`, what a pull request shows),
 * or — when a shallow clone has no merge base — between the two commits.
 * Without `head`, the working tree is the head: the files changed since the
 * merge base of `base` and `HEAD`, staged or not, and the untracked files
 * git does not ignore.
 */
export async function changedFiles(top: string, base: string, head?: string): Promise<{ files: string[]; exact: boolean }> {
  if (head === undefined) {
    const since = (await mergeBase(top, base, "HEAD")) ?? base;
    const tracked = parseNames(await git(["diff", "--name-only", "-z", "--no-renames", since, "--"], top));
    const untracked = parseNames(await git(["ls-files", "--others", "--exclude-standard", "-z"], top));
    return { files: [...new Set([...tracked, ...untracked])], exact: true };
  }
  await ensureCommits(top, [base, head]);
  try {
    return { files: parseNames(await git(["diff", "--name-only", "-z", "--no-renames", `${base}...${head}`, "--"], top)), exact: true };
  } catch {
    return { files: parseNames(await git(["diff", "--name-only", "-z", "--no-renames", base, head, "--"], top)), exact: false };
  }
}

/** A file's bytes on a commit, or undefined when it does not exist there. */
export async function fileAt(top: string, commit: string, pathInRepository: string): Promise<string | undefined> {
  try {
    await git(["cat-file", "-e", `${commit}:${pathInRepository}`], top);
  } catch {
    return undefined;
  }
  return git(["show", `${commit}:${pathInRepository}`], top);
}

/** The commit a ref (branch, tag, `HEAD~1`, commit id) names, or undefined when it names none. */
export async function resolveCommit(top: string, ref: string): Promise<string | undefined> {
  try {
    return (await git(["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`], top)).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The merge base of two commits, or undefined when they have none (unrelated or shallow histories). */
export async function mergeBase(top: string, a: string, b: string): Promise<string | undefined> {
  try {
    return (await git(["merge-base", "--end-of-options", a, b], top)).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The repository's default branch as a ref this clone has: `origin/HEAD`'s
 * target (what the hosting site calls the default branch), else the first of
 * `origin/main`, `origin/master`, `main`, `master` that exists.
 */
export async function defaultBranch(top: string): Promise<string | undefined> {
  const originHead = await git(["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"], top).then(
    (out) => out.trim(),
    () => "",
  );
  const candidates = [originHead, "origin/main", "origin/master", "main", "master"].filter((r) => r !== "");
  for (const ref of candidates) if (await resolveCommit(top, ref)) return ref;
  return undefined;
}

/** Whether the working tree differs from `HEAD` (changes staged or not, untracked files git does not ignore). */
export async function workingTreeChanged(top: string): Promise<boolean> {
  return (await git(["status", "--porcelain", "-z", "--untracked-files=normal"], top)).length > 0;
}
