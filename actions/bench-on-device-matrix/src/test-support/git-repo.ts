import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A real git repository in a temp directory, committed to step by step. */
export class GitRepo {
  readonly dir = mkdtempSync(join(tmpdir(), "plan-repo-"));

  constructor() {
    this.git("init", "--quiet", "--initial-branch=main");
    this.git("config", "user.email", "bench@example.com");
    this.git("config", "user.name", "bench");
    this.git("config", "commit.gpgsign", "false");
  }

  git(...args: string[]): string {
    return execFileSync("git", args, { cwd: this.dir, encoding: "utf8" }).trim();
  }

  /** Writes the files and commits them; returns the commit id. */
  commit(files: Record<string, string>, message = "change"): string {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.dir, path)), { recursive: true });
      writeFileSync(join(this.dir, path), text);
    }
    this.git("add", "-A");
    this.git("commit", "--quiet", "--allow-empty", "-m", message);
    return this.git("rev-parse", "HEAD");
  }
}
