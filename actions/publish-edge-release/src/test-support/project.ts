/**
 * A checked-out model repository for the action's tests: a made model, the
 * manifest `slmops init` writes plus a `release:` section for two device
 * classes, one commit, and its variants built — by the real CLI.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "@slmops/action-kit/testing";
import { generateSigningKey, RELEASE_ROLES, type KeyRole } from "@slmops/edge-release";

export const cliPath = join(repoRoot, "packages", "cli", "dist", "bin.js");

export function cli(args: readonly string[], cwd: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", ...env }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function must(args: readonly string[], cwd: string): string {
  const r = cli(args, cwd);
  if (r.status !== 0) throw new Error(`slmops ${args.join(" ")} failed:\n${r.stderr}`);
  return r.stdout;
}

export interface Project {
  readonly dir: string;
  readonly commit: string;
}

export function makeProject(): Project {
  const dir = mkdtempSync(join(tmpdir(), "publish-edge-release-"));
  execFileSync("git", ["init", "--quiet", "--initial-branch=main"], { cwd: dir });
  must(["make-model", "--preset", "nano", "--out", "models/story-lm"], dir);
  must(["init"], dir);
  appendFileSync(
    join(dir, "slmops.yaml"),
    "\nrelease:\n  channel: beta\n  targets:\n    local: int8\n  rollout:\n    stages:\n      - { percent: 100 }\n",
  );
  writeFileSync(join(dir, ".gitignore"), ".slmops/\n");
  execFileSync("git", ["add", "-A"], { cwd: dir });
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "--quiet", "-m", "models"], { cwd: dir });
  must(["optimize", "--variant", "int8"], dir);
  const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: dir, encoding: "utf8" }).trim();
  return { dir, commit };
}

/** A gate verdict file, as gate-model-change writes it, for the release's device class. */
export function writeVerdict(dir: string, outcome: "pass" | "fail", file = "slmops-gate/slmops-verdict.json"): string {
  const path = join(dir, file);
  execFileSync("mkdir", ["-p", join(path, "..")]);
  writeFileSync(path, JSON.stringify({ outcome, verdict: { outcome, pairs: [{ device: "local", variant: "story-lm/int8", outcome, metrics: { "decode-latency-p90": 41.5 } }] } }));
  return file;
}

/** A fresh key per role, in the one-line form the inputs take. */
export function freshKeys(): Record<KeyRole, string> {
  return Object.fromEntries(RELEASE_ROLES.map((role) => [role, generateSigningKey().exportSecret()])) as Record<KeyRole, string>;
}

/** The key inputs for `keys`. */
export function keyInputs(keys: Partial<Record<KeyRole, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(keys).map(([role, key]) => [`${role}-key`, key]));
}
