import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./test-support/paths.js";

const releaseScript = join(repoRoot, "scripts", "release.mjs");
const gitEnv = {
  GIT_AUTHOR_NAME: "Release Test",
  GIT_AUTHOR_EMAIL: "release@example.invalid",
  GIT_COMMITTER_NAME: "Release Test",
  GIT_COMMITTER_EMAIL: "release@example.invalid",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, ...gitEnv } }).trim();
}

function writeAction(root: string, name: string, version: string, greeting: string): void {
  const dir = join(root, "actions", name);
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(dir, "action.yml"), `name: ${name}\ndescription: test\nruns:\n  using: node24\n  main: dist/index.js\n`);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `@slmops/${name}-action`, version, type: "module", private: true }));
  writeFileSync(join(dir, "src", "greeting.ts"), `export const greeting: string = ${JSON.stringify(greeting)};\n`);
  writeFileSync(join(dir, "src", "index.ts"), `import { greeting } from "./greeting.js";\nconsole.log(greeting);\n`);
}

/** A git repository shaped like this one: two actions in a fixed version group, dist/ ignored. */
function makeRepo(version = "1.2.3"): { root: string; remote: string } {
  const base = mkdtempSync(join(tmpdir(), "release-test-"));
  const root = join(base, "work");
  const remote = join(base, "remote.git");
  mkdirSync(root);
  git(base, "init", "--quiet", "--bare", remote);
  git(root, "init", "--quiet", "--initial-branch=main");
  writeFileSync(join(root, ".gitignore"), "dist/\n");
  writeAction(root, "hello", version, "hello from the bundle");
  writeAction(root, "other", version, "other action");
  git(root, "add", ".");
  git(root, "commit", "--quiet", "-m", "initial");
  git(root, "remote", "add", "origin", remote);
  git(root, "push", "--quiet", "origin", "main");
  return { root, remote };
}

function release(root: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [releaseScript, "--root", root, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...gitEnv, GITHUB_OUTPUT: join(root, "..", "github_output") },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("scripts/release.mjs (on a real git repository)", { timeout: 60_000 }, () => {
  it("--dry-run says what it would do and changes nothing", () => {
    const { root } = makeRepo();
    const head = git(root, "rev-parse", "HEAD");
    const r = release(root, "--tag", "--push", "--dry-run");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("[dry-run] would bundle hello into actions/hello/dist/index.js");
    expect(r.stdout).toContain(`whose parent is ${head.slice(0, 12)} (HEAD)`);
    expect(r.stdout).toContain("[dry-run] would tag it v1.2.3 and move v1 to it");
    expect(r.stdout).toContain("[dry-run] would push v1.2.3 and force-push v1 to origin");
    expect(git(root, "tag", "--list")).toBe("");
    expect(existsSync(join(root, "actions", "hello", "dist"))).toBe(false);
  });

  it("without --tag only bundles every action's dist", () => {
    const { root } = makeRepo();
    const r = release(root);
    expect(r.status).toBe(0);
    const run = spawnSync(process.execPath, [join(root, "actions", "hello", "dist", "index.js")], { encoding: "utf8" });
    expect(run.stdout).toBe("hello from the bundle\n");
    expect(git(root, "tag", "--list")).toBe("");
    expect(git(root, "status", "--porcelain")).toBe("");
  });

  it("--tag --push commits the bundles on a release commit, tags vX.Y.Z, moves v1, and leaves main alone", () => {
    const { root, remote } = makeRepo();
    const head = git(root, "rev-parse", "HEAD");
    const r = release(root, "--tag", "--push");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("moved v1 to v1.2.3");

    const tagged = git(root, "rev-parse", "v1.2.3^{commit}");
    expect(git(root, "rev-parse", "v1^{commit}")).toBe(tagged);
    expect(git(root, "rev-parse", `${tagged}^`)).toBe(head);
    expect(git(root, "rev-parse", "HEAD")).toBe(head);
    expect(git(root, "cat-file", "-t", "v1.2.3")).toBe("tag");
    expect(git(root, "ls-tree", "-r", "--name-only", tagged).split("\n")).toEqual(
      expect.arrayContaining(["actions/hello/dist/index.js", "actions/other/dist/index.js", "actions/hello/action.yml"]),
    );
    expect(git(root, "show", `${tagged}:actions/hello/dist/index.js`)).toContain("hello from the bundle");
    expect(git(root, "log", "-1", "--format=%s", tagged)).toBe("Release v1.2.3");
    expect(git(root, "status", "--porcelain")).toBe("");
    expect(git(remote, "rev-parse", "v1.2.3^{commit}")).toBe(tagged);
    expect(git(remote, "rev-parse", "v1^{commit}")).toBe(tagged);
    expect(git(remote, "rev-parse", "main")).toBe(head);
    const outputs = readFileSync(join(root, "..", "github_output"), "utf8");
    expect(outputs).toContain("released=true\n");
    expect(outputs).toContain("tag=v1.2.3\n");
  });

  it("moves the major tag on the next release, keeps the old one, and does not release a version twice", () => {
    const { root, remote } = makeRepo();
    expect(release(root, "--tag", "--push").status).toBe(0);
    const first = git(root, "rev-parse", "v1.2.3^{commit}");

    const again = release(root, "--tag", "--push");
    expect(again.status).toBe(0);
    expect(again.stdout).toBe("v1.2.3 is already released; nothing to do.\n");
    expect(git(root, "rev-parse", "v1.2.3^{commit}")).toBe(first);

    writeAction(root, "hello", "1.3.0", "hello again");
    writeAction(root, "other", "1.3.0", "other action");
    git(root, "commit", "--quiet", "-am", "Version packages");
    const r = release(root, "--tag", "--push");
    expect(r.status).toBe(0);
    const second = git(root, "rev-parse", "v1.3.0^{commit}");
    expect(second).not.toBe(first);
    expect(git(root, "rev-parse", "v1.2.3^{commit}")).toBe(first);
    expect(git(remote, "rev-parse", "v1^{commit}")).toBe(second);
    expect(git(root, "show", `${second}:actions/hello/dist/index.js`)).toContain("hello again");
  });

  it("does not move the major tag for a prerelease", () => {
    const { root } = makeRepo("2.0.0-rc.1");
    const r = release(root, "--tag");
    expect(r.status).toBe(0);
    expect(git(root, "tag", "--list")).toBe("v2.0.0-rc.1");
  });

  it("refuses actions whose versions differ, naming them", () => {
    const { root } = makeRepo();
    writeAction(root, "other", "1.2.4", "other action");
    git(root, "commit", "--quiet", "-am", "drift");
    const r = release(root, "--tag");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("The actions must share one version (changesets fixed group)");
    expect(r.stderr).toContain("@slmops/hello-action@1.2.3");
    expect(r.stderr).toContain("@slmops/other-action@1.2.4");
    expect(git(root, "tag", "--list")).toBe("");
  });

  it("refuses to tag from a checkout with uncommitted changes", () => {
    const { root } = makeRepo();
    writeFileSync(join(root, "actions", "hello", "src", "greeting.ts"), 'export const greeting: string = "dirty";\n');
    const r = release(root, "--tag");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("Uncommitted changes");
    expect(git(root, "tag", "--list")).toBe("");
  });

  it("rejects unknown flags and --push without --tag", () => {
    const { root } = makeRepo();
    expect(release(root, "--tga").stderr).toContain("Unknown option '--tga'");
    const push = release(root, "--push");
    expect(push.status).toBe(1);
    expect(push.stderr).toContain("--push pushes the release tags; use it with --tag.");
  });
});
