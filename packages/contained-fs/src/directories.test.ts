import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, lstatSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mountTmpfs } from "@slmops/atomic-file/testing";
import { EnvironmentError } from "@slmops/diagnostics";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ensureDirectory, ensureOutputDirectory, ensureOutputParent, ensureParentDirectory, UnsafeOutputError } from "./index.js";

let scratch: string;
let repo: string;
let outside: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), "contained-fs-dirs-"));
  repo = join(scratch, "repo");
  outside = join(scratch, "outside");
  mkdirSync(repo);
  mkdirSync(outside);
  writeFileSync(join(outside, "precious"), "keep me");
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

async function refusal(promise: Promise<unknown>): Promise<UnsafeOutputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnsafeOutputError);
  return error as UnsafeOutputError;
}

describe("ensureDirectory", () => {
  it("creates every missing component inside the root", async () => {
    const made = await ensureDirectory(repo, join(repo, ".slmops", "variants", "story-lm"));
    expect(lstatSync(made).isDirectory()).toBe(true);
  });

  it("refuses a link at any depth and creates nothing through it", async () => {
    symlinkSync(outside, join(repo, ".slmops"));
    const error = await refusal(ensureDirectory(repo, join(repo, ".slmops", "variants", "m")));
    expect(error.reason).toBe("symlink");
    expect(error.message).toMatch(/^\.slmops is a symbolic link; slmops does not write through links/);
    expect(readdirSync(outside)).toEqual(["precious"]);

    rmSync(join(repo, ".slmops"));
    mkdirSync(join(repo, ".slmops", "variants"), { recursive: true });
    symlinkSync(outside, join(repo, ".slmops", "variants", "m"));
    expect((await refusal(ensureDirectory(repo, join(repo, ".slmops", "variants", "m", "v")))).message).toContain(join(".slmops", "variants", "m"));
    expect(readdirSync(outside)).toEqual(["precious"]);
  });

  it("refuses a file where a directory would go, and a path outside the root", async () => {
    writeFileSync(join(repo, "models"), "a file");
    expect(await ensureDirectory(repo, join(repo, "models", "x")).catch((e: unknown) => e)).toMatchObject({ name: "EnvironmentError", code: "EEXIST", path: join(repo, "models") });
    expect((await refusal(ensureDirectory(repo, join(repo, "..", "outside", "x")))).reason).toBe("outside-root");
  });

  it("trusts the root itself as given, even when it is reached through a link", async () => {
    symlinkSync(repo, join(scratch, "alias"));
    await ensureDirectory(join(scratch, "alias"), join(scratch, "alias", "out"));
    expect(lstatSync(join(repo, "out")).isDirectory()).toBe(true);
  });
});

describe("ensureParentDirectory", () => {
  it("refuses a link or a directory as the file itself", async () => {
    symlinkSync(join(outside, "precious"), join(repo, "report.md"));
    expect((await refusal(ensureParentDirectory(repo, join(repo, "report.md")))).reason).toBe("symlink");
    mkdirSync(join(repo, "reports"));
    expect((await refusal(ensureParentDirectory(repo, join(repo, "reports")))).reason).toBe("not-a-directory");
    expect(await ensureParentDirectory(repo, join(repo, "a", "b.json"))).toBe(join(repo, "a", "b.json"));
  });
});

describe("ensureOutputDirectory and ensureOutputParent", () => {
  it("contain paths inside the root and create paths outside it as given", async () => {
    symlinkSync(outside, join(repo, ".slmops"));
    expect((await refusal(ensureOutputDirectory(repo, join(repo, ".slmops", "references")))).reason).toBe("symlink");
    expect((await refusal(ensureOutputParent(repo, join(repo, ".slmops", "reports", "local.json")))).reason).toBe("symlink");
    expect(readdirSync(outside)).toEqual(["precious"]);
    const elsewhere = join(scratch, "elsewhere", "deep");
    expect(await ensureOutputDirectory(repo, elsewhere)).toBe(elsewhere);
    expect(lstatSync(elsewhere).isDirectory()).toBe(true);
    expect(await ensureOutputParent(undefined, join(scratch, "x", "y.json"))).toBe(join(scratch, "x", "y.json"));
    expect(lstatSync(join(scratch, "x")).isDirectory()).toBe(true);
  });
});

describe("a directory the machine will not create", () => {
  it("is an EnvironmentError naming the path and what to do", async () => {
    writeFileSync(join(scratch, "a-file"), "");
    const error = await ensureOutputDirectory(undefined, join(scratch, "a-file", "out")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as EnvironmentError).code).toBe("ENOTDIR");
    expect((error as Error).message).toMatch(/^cannot create the directory .*a-file\/out: a part of the path is a file, not a directory \(ENOTDIR\)/);
  });
});

describe("a directory the machine will not create, for real", () => {
  it("EROFS on a read-only file system is told as such, not as the ENOENT a recursive mkdir says", async (context) => {
    const tmpfs = mountTmpfs({ size: "64k", readOnly: true });
    if ("skip" in tmpfs) return context.skip(tmpfs.skip);
    try {
      const error = await ensureOutputDirectory(undefined, join(tmpfs.dir, "sub", "dir")).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EnvironmentError);
      expect(error).toMatchObject({ operation: "create-directory", code: "EROFS" });
    } finally {
      tmpfs.unmount();
    }
  });

  it("EEXIST for a file where the directory itself should be", async () => {
    writeFileSync(join(scratch, "file"), "x");
    expect(await ensureOutputDirectory(undefined, join(scratch, "file")).catch((e: unknown) => e)).toMatchObject({ name: "EnvironmentError", code: "EEXIST" });
  });
});
