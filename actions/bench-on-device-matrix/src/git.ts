/**
 * The little of git the plan needs: the files a change touched and a file as
 * it was on a commit. Commit ids come validated from the event payload and
 * are passed as arguments (never through a shell).
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

/**
 * The files changed between `base` and `head`, relative to the repository
 * root: since their merge base (`base...head`, what a pull request shows),
 * or — when a shallow clone has no merge base — between the two commits.
 */
export async function changedFiles(top: string, base: string, head: string): Promise<{ files: string[]; exact: boolean }> {
  await ensureCommits(top, [base, head]);
  const parse = (out: string) => out.split("\0").filter((f) => f !== "");
  try {
    return { files: parse(await git(["diff", "--name-only", "-z", "--no-renames", `${base}...${head}`, "--"], top)), exact: true };
  } catch {
    return { files: parse(await git(["diff", "--name-only", "-z", "--no-renames", base, head, "--"], top)), exact: false };
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
