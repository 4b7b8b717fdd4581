import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigurationError, EnvironmentError, describeError } from "./index.js";

async function failure(run: () => Promise<unknown>): Promise<unknown> {
  return run().then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe("EnvironmentError", () => {
  it("turns a real ENOTDIR into a user-facing message with the path, the reason, the code and what to do", async () => {
    const dir = await mkdtemp(join(tmpdir(), "diagnostics-"));
    await writeFile(join(dir, "file"), "x");
    const cause = await failure(() => writeFile(join(dir, "file", "report.json"), "{}"));
    const error = EnvironmentError.from(cause, { path: "file/report.json", option: { name: "--out", value: "file/report.json" } });
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error?.code).toBe("ENOTDIR");
    expect(error?.cause).toBe(cause);
    expect(describeError(error)).toBe(
      "cannot write file/report.json (--out file/report.json): a part of the path is a file, not a directory (ENOTDIR)\n" +
        "  hint: pass another --out whose parents are all directories",
    );
  });

  it("reads EEXIST as a file in the way of a directory, but only when creating a directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "diagnostics-"));
    await writeFile(join(dir, "taken"), "x");
    const cause = await failure(() => mkdir(join(dir, "taken"), { recursive: true }));
    expect(EnvironmentError.from(cause, { operation: "create-directory", path: "taken" })?.message).toContain(
      "cannot create the directory taken: it exists and is not a directory (EEXIST)",
    );
    // A temporary file that already exists is slmops's own doing, not the user's.
    expect(EnvironmentError.from(cause, { operation: "write", path: "taken" })).toBeUndefined();
  });

  it("keeps codes that mean a bug, and errors without a code, out", () => {
    expect(EnvironmentError.from(Object.assign(new Error("bad file descriptor"), { code: "EBADF" }), { path: "x" })).toBeUndefined();
    expect(EnvironmentError.from(new TypeError("no"), { path: "x" })).toBeUndefined();
  });

  it("re-tells an environment error with the path as the user named it", () => {
    const first = new EnvironmentError({ operation: "create-directory", path: "/abs/out", code: "EROFS" });
    const again = EnvironmentError.from(first, { path: "out", option: { name: "--out", value: "out" } });
    expect(again?.message).toBe("cannot create the directory out (--out out): the file system is read-only (EROFS)\n  hint: pass another --out on a writable file system");
    expect(again?.cause).toBe(first);
  });
});
