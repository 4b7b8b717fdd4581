import { readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { withAtomicFile } from "./index.js";
import { scratchDir } from "./test-support/scratch-dir.js";

let scratch: Awaited<ReturnType<typeof scratchDir>>;
beforeEach(async () => {
  scratch = await scratchDir();
});
afterEach(async () => {
  await scratch.remove();
});

test("hands a handle on a temporary file beside the target, then puts it in place", async () => {
  const target = path.join(scratch.dir, "report.txt");
  await writeFile(target, "old");
  const result = await withAtomicFile(target, async (handle) => {
    await handle.write("first part, ");
    // Mid-write: the target still has its old content, the new one is elsewhere.
    expect(await readFile(target, "utf8")).toBe("old");
    const entries = await readdir(scratch.dir);
    expect(entries).toHaveLength(2);
    expect(entries.find((name) => name !== "report.txt")).toMatch(/^\.report\.txt\.\d+\.[0-9a-f]{12}\.tmp$/);
    await handle.write("second part");
    return 42;
  });
  expect(result).toBe(42);
  expect(await readFile(target, "utf8")).toBe("first part, second part");
  expect(await scratch.entries()).toEqual(["report.txt"]);
});

test("an error thrown mid-write is rethrown as is, the target keeps its old content and no temporary file is left", async () => {
  const target = path.join(scratch.dir, "model.onnx");
  await writeFile(target, "old model");
  const failure = new Error("source went away");
  const caught = await withAtomicFile(target, async (handle) => {
    await handle.write(Buffer.alloc(1024 * 1024, "n"));
    throw failure;
  }).catch((error: unknown) => error);
  expect(caught).toBe(failure);
  expect(await readFile(target, "utf8")).toBe("old model");
  expect(await scratch.entries()).toEqual(["model.onnx"]);
});

test("a failed first write of a new file leaves no file at all", async () => {
  const target = path.join(scratch.dir, "new.bin");
  await expect(
    withAtomicFile(target, async (handle) => {
      await handle.write("partial");
      throw new Error("interrupted");
    }),
  ).rejects.toThrow("interrupted");
  expect(await scratch.entries()).toEqual([]);
});
