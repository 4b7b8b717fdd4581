/**
 * The machine refusing a write is the user's to fix, told without a stack
 * trace; the tmpfs cases mount a real, tiny file system.
 */
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { ConfigurationError, describeError } from "@slmops/diagnostics";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { AtomicWriteError, withAtomicFile, writeFileAtomic } from "./index.js";
import { scratchDir } from "./test-support/scratch-dir.js";
import { mountTmpfs } from "./testing.js";

let scratch: Awaited<ReturnType<typeof scratchDir>>;
beforeEach(async () => {
  scratch = await scratchDir();
});
afterEach(async () => {
  await scratch.remove();
});

const caught = (run: () => Promise<unknown>) => run().then(() => undefined, (error: unknown) => error);

describe("a write the machine refuses is an environment error", () => {
  test("ENOSPC: a full file system, with what to do and the temporary file gone", async (context) => {
    const tmpfs = mountTmpfs({ size: "64k" });
    if ("skip" in tmpfs) return context.skip(tmpfs.skip);
    try {
      const target = path.join(tmpfs.dir, "big.bin");
      const error = await caught(() => writeFileAtomic(target, Buffer.alloc(1024 * 1024, 1)));
      expect(error).toBeInstanceOf(AtomicWriteError);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({ path: target, step: "write", code: "ENOSPC" });
      expect(describeError(error)).toBe(`cannot write ${target}: no space left on the device (ENOSPC)\n  hint: free disk space, or write somewhere else on another file system`);
      expect(await readdir(tmpfs.dir)).toEqual([]);
    } finally {
      tmpfs.unmount();
    }
  });

  test("EROFS: a read-only file system", async (context) => {
    const tmpfs = mountTmpfs({ size: "64k", readOnly: true });
    if ("skip" in tmpfs) return context.skip(tmpfs.skip);
    try {
      const target = path.join(tmpfs.dir, "report.json");
      const error = await caught(() => writeFileAtomic(target, "{}"));
      expect(error).toMatchObject({ name: "AtomicWriteError", step: "create", code: "EROFS" });
      expect((error as Error).message).toContain("the file system is read-only (EROFS)\n  hint: write somewhere else on a writable file system");
    } finally {
      tmpfs.unmount();
    }
  });

  test("ENOTDIR and EEXIST: a file where a directory should be", async () => {
    const file = path.join(scratch.dir, "file");
    await writeFile(file, "x");
    expect(await caught(() => writeFileAtomic(path.join(file, "out.json"), "{}"))).toMatchObject({ name: "AtomicWriteError", code: "ENOTDIR" });
  });

  test("a failure that is not the environment's stays internal, with its cause", async () => {
    const target = path.join(scratch.dir, "a.txt");
    // Closing the handle under the writer makes the next step fail with EBADF: a bug, not the user's doing.
    const error = await caught(() => withAtomicFile(target, (handle) => handle.close()));
    expect(error).not.toBeInstanceOf(ConfigurationError);
    expect(error).toBeInstanceOf(Error);
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe("EBADF");
  });
});
