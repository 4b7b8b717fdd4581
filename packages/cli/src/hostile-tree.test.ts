/**
 * A checked-out repository is untrusted: it can ship `.slmops` (or any
 * directory an output goes through) as a link to anywhere. Every command that
 * writes inside the repository refuses to write through such a link, through
 * the real CLI, and leaves the link's target untouched.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasStackTrace, repoRoot, runCli } from "./test-support/run-cli.js";

const EXAMPLE = join(repoRoot, "examples", "story-lm");
const QUICK = ["--warmup", "0", "--min-iterations", "1", "--min-duration", "1ms", "--prompt-tokens", "4", "--generate-tokens", "1"];

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the example project and, beside it, a directory that is not the repository's. */
function checkout(): { repo: string; outside: string } {
  const base = mkdtempSync(join(tmpdir(), "cli-hostile-tree-"));
  dirs.push(base);
  const repo = join(base, "repo");
  const outside = join(base, "outside");
  cpSync(EXAMPLE, repo, { recursive: true, filter: (src) => !src.includes(".slmops") && !src.includes("/out") });
  mkdirSync(outside);
  writeFileSync(join(outside, "precious.txt"), "not slmops's");
  return { repo, outside };
}

describe("outputs never go through a link in the repository", () => {
  it("optimize refuses `.slmops` as a link, and writes nothing where it points", () => {
    const { repo, outside } = checkout();
    symlinkSync(outside, join(repo, ".slmops"));
    const r = runCli(["optimize", "--variant", "int8"], { cwd: repo });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\.slmops is a symbolic link; slmops does not write through links/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(readdirSync(outside)).toEqual(["precious.txt"]);
  });

  it("bench refuses a report path and a reference directory through a link, and still prints what it measured", () => {
    const { repo, outside } = checkout();
    const variant = join(repo, ".slmops", "variants", "story-lm", "int8");
    mkdirSync(variant, { recursive: true });
    copyFileSync(join(repo, "models", "story-lm", "model.onnx"), join(variant, "model.onnx"));
    symlinkSync(outside, join(repo, "reports"));
    const r = runCli(["bench", "--device", "local", "--variant", "int8", "--out", "reports/local.json", ...QUICK], { cwd: repo });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/story-lm/); // the table of what was measured
    expect(r.stderr).toMatch(/reports is a symbolic link; slmops does not write through links/);
    expect(readdirSync(outside)).toEqual(["precious.txt"]);

    rmSync(join(repo, ".slmops", "references"), { recursive: true, force: true });
    symlinkSync(outside, join(repo, ".slmops", "references"));
    const again = runCli(["bench", "--device", "local", "--variant", "int8", ...QUICK], { cwd: repo });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/\.slmops\/references is a symbolic link/);
    expect(readdirSync(outside)).toEqual(["precious.txt"]);
  });

  it("gate refuses --markdown through a link, and creates a missing directory", () => {
    const { repo, outside } = checkout();
    symlinkSync(outside, join(repo, "docs"));
    mkdirSync(join(repo, "out"));
    const r = runCli(["gate", "out", "--markdown", "docs/report.md"], { cwd: repo });
    expect(r.stderr).toMatch(/docs is a symbolic link; slmops does not write through links/);
    expect(readdirSync(outside)).toEqual(["precious.txt"]);
    const made = runCli(["gate", "out", "--markdown", "new/dir/report.md"], { cwd: repo });
    expect(readFileSync(join(repo, "new", "dir", "report.md"), "utf8")).toMatch(/^## /);
    expect(made.stderr).not.toMatch(/cannot write/);
    expect(readdirSync(outside)).toEqual(["precious.txt"]);
  });
});
