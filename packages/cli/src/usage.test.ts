import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasStackTrace, runCli } from "./test-support/run-cli.js";

const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8")) as { version: string };

describe("slmops (usage)", { timeout: 60_000 }, () => {
  it("prints help listing the commands, exit 0", () => {
    const r = runCli(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: slmops <command> \[options\]/);
    expect(r.stdout).toMatch(/^\s+validate\s+check slmops\.yaml/m);
    expect(r.stderr).toBe("");
  });

  it("prints help and exits 2 when no command is given", () => {
    const r = runCli([]);
    expect(r.status).toBe(2);
    expect(r.stdout).toContain("Commands:");
  });

  it("prints a command's help with its options", () => {
    for (const args of [["validate", "--help"], ["validate", "-h"], ["help", "validate"]]) {
      const r = runCli(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage: slmops validate \[path\] \[options\]/);
      expect(r.stdout).toMatch(/--root <dir>/);
      expect(r.stdout).toMatch(/--json/);
    }
  });

  it("prints the version", () => {
    for (const flag of ["--version", "-V"]) {
      const r = runCli([flag]);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${pkg.version}\n`);
    }
  });

  it("rejects an unknown command with a did-you-mean hint, exit 2, no stack trace", () => {
    const r = runCli(["valdate"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("error: Unknown command `valdate`.");
    expect(r.stderr).toContain("hint: did you mean `slmops validate`?");
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it("lists the commands when nothing is close", () => {
    const r = runCli(["deploy-to-mars"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("the commands are: init, validate");
  });

  it("rejects an unknown flag with a did-you-mean hint", () => {
    const r = runCli(["validate", "--jsn"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("error: Unknown option `--jsn` for `slmops validate`.");
    expect(r.stderr).toContain("hint: did you mean `--json`?");
    expect(r.stderr).toContain("Usage: slmops validate [path] [options]");
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it("rejects a global flag typo", () => {
    const r = runCli(["--verison"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("did you mean `--version`?");
  });

  it("rejects a missing option value and extra arguments", () => {
    const missing = runCli(["validate", "--root"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("Option `--root` needs a value, e.g. `--root dir`.");
    const extra = runCli(["validate", "a.yaml", "b.yaml"]);
    expect(extra.status).toBe(2);
    expect(extra.stderr).toContain("Unexpected argument `b.yaml` for `slmops validate`.");
    const flagValue = runCli(["validate", "--json=yes"]);
    expect(flagValue.status).toBe(2);
    expect(flagValue.stderr).toContain("Option `--json` takes no value.");
  });
});
