import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readRegularFile, UnreadableFileError } from "./index.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "contained-fs-read-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function reason(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnreadableFileError);
  return (error as UnreadableFileError).reason;
}

describe("readRegularFile", () => {
  it("reads a file within the limit", async () => {
    writeFileSync(join(dir, "a.txt"), "hello");
    const bytes = await readRegularFile(join(dir, "a.txt"), { maxBytes: 5, what: "test file" });
    expect(bytes.toString()).toBe("hello");
  });

  it("refuses a FIFO without blocking on it", async () => {
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    const error = await readRegularFile(fifo, { maxBytes: 1024, what: "eval dataset" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnreadableFileError);
    expect((error as UnreadableFileError).reason).toBe("not-a-file");
    expect((error as Error).message).toContain("named pipe");
  });

  it("refuses a sparse file larger than the limit from its size, before reading it", async () => {
    const big = join(dir, "big.jsonl");
    writeFileSync(big, "");
    truncateSync(big, 2 * 1024 ** 3);
    const before = process.memoryUsage().rss;
    const error = (await readRegularFile(big, { maxBytes: 64 * 1024 * 1024, what: "eval dataset" }).catch((e: unknown) => e)) as UnreadableFileError;
    expect(error.reason).toBe("too-large");
    expect(error.size).toBe(2 * 1024 ** 3);
    expect(error.message).toMatch(/2GiB, more than the 64MiB accepted/);
    expect(process.memoryUsage().rss - before).toBeLessThan(32 * 1024 * 1024);
  });

  it("stops one byte past the limit when the file is larger than its reported size", async () => {
    // /proc files report size 0 but have content: the bounded read must still stop.
    const error = (await readRegularFile("/proc/self/maps", { maxBytes: 16, what: "report" }).catch((e: unknown) => e)) as UnreadableFileError;
    expect(error.reason).toBe("too-large");
    expect(error.size).toBe(17);
  });

  it("names a directory, a missing file and a refused link", async () => {
    mkdirSync(join(dir, "d"));
    writeFileSync(join(dir, "real"), "x");
    symlinkSync(join(dir, "real"), join(dir, "link"));
    expect(await reason(readRegularFile(join(dir, "d"), { maxBytes: 10, what: "tokenizer" }))).toBe("directory");
    expect(await reason(readRegularFile(join(dir, "none"), { maxBytes: 10, what: "tokenizer" }))).toBe("missing");
    expect(await reason(readRegularFile(join(dir, "link"), { maxBytes: 10, what: "tokenizer", noFollow: true }))).toBe("symlink");
    expect((await readRegularFile(join(dir, "link"), { maxBytes: 10, what: "tokenizer" })).toString()).toBe("x");
  });
});
