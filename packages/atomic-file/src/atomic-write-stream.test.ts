import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { afterEach, beforeEach, expect, test } from "vitest";
import { AtomicWriteError, createAtomicWriteStream } from "./index.js";
import { scratchDir, uniform } from "./test-support/scratch-dir.js";

let scratch: Awaited<ReturnType<typeof scratchDir>>;
beforeEach(async () => {
  scratch = await scratchDir();
});
afterEach(async () => {
  await scratch.remove();
});

const CHUNK = 256 * 1024;
const CHUNKS = 32; // 8 MiB in all

test.each([
  ["one fsync at the end", 0],
  ["flushed as it goes, between every chunk and the next", CHUNK + 1],
  ["flushed as it goes, with the default step", undefined],
])("streams a large output and replaces the target only once the stream has finished (%s)", async (_, syncEveryBytes) => {
  const target = path.join(scratch.dir, "weights.bin");
  await writeFile(target, "old");
  const seenMidway: string[] = [];
  async function* source(): AsyncGenerator<Buffer> {
    for (let index = 0; index < CHUNKS; index++) {
      if (index === CHUNKS / 2) seenMidway.push(await readFile(target, "utf8"));
      yield uniform(String.fromCharCode(65 + (index % 26)), CHUNK);
    }
  }
  await pipeline(Readable.from(source()), createAtomicWriteStream(target, syncEveryBytes === undefined ? {} : { syncEveryBytes }));
  expect(seenMidway).toEqual(["old"]);
  const written = await readFile(target);
  expect(written.length).toBe(CHUNK * CHUNKS);
  for (let index = 0; index < CHUNKS; index++) {
    expect(written.subarray(index * CHUNK, (index + 1) * CHUNK).equals(uniform(String.fromCharCode(65 + (index % 26)), CHUNK))).toBe(true);
  }
  expect(await scratch.entries()).toEqual(["weights.bin"]);
}, 60_000);

test("refuses a step that is not a whole number of bytes", () => {
  expect(() => createAtomicWriteStream(path.join(scratch.dir, "x"), { syncEveryBytes: -1 })).toThrow(RangeError);
  expect(() => createAtomicWriteStream(path.join(scratch.dir, "x"), { syncEveryBytes: 1.5 })).toThrow(RangeError);
});

test("'finish' comes after the rename: the new content is in place when the stream says it is done", async () => {
  const target = path.join(scratch.dir, "out.txt");
  const stream = createAtomicWriteStream(target);
  stream.end("done");
  await finished(stream);
  expect(await readFile(target, "utf8")).toBe("done");
  expect(stream.tempPath).toMatch(/\.out\.txt\.\d+\.[0-9a-f]{12}\.tmp$/);
});

test("a source that fails mid-stream leaves the old content and no temporary file", async () => {
  const target = path.join(scratch.dir, "weights.bin");
  await writeFile(target, "old");
  async function* failing(): AsyncGenerator<Buffer> {
    yield uniform("a", CHUNK);
    yield uniform("b", CHUNK);
    throw new Error("download cut off");
  }
  // A flush is in flight when the source fails: it ends before the temporary file is removed.
  const stream = createAtomicWriteStream(target, { syncEveryBytes: CHUNK });
  await expect(pipeline(Readable.from(failing()), stream)).rejects.toThrow("download cut off");
  // pipeline() can settle on the source's error before the destination's destroy has run; 'close' comes after it.
  if (!stream.closed) await new Promise((resolve) => stream.once("close", resolve));
  expect(await readFile(target, "utf8")).toBe("old");
  expect(await scratch.entries()).toEqual(["weights.bin"]);
});

test("destroy() before the end abandons the write", async () => {
  const target = path.join(scratch.dir, "abandoned.bin");
  const stream = createAtomicWriteStream(target);
  await new Promise<void>((resolve, reject) => stream.write(uniform("z", CHUNK), (error) => (error ? reject(error) : resolve())));
  expect(await scratch.entries()).toHaveLength(1);
  stream.destroy();
  await finished(stream).catch(() => undefined);
  expect(await scratch.entries()).toEqual([]);
});

test("a target directory that does not exist fails the stream with an AtomicWriteError", async () => {
  const target = path.join(scratch.dir, "missing", "out.bin");
  const stream = createAtomicWriteStream(target);
  const error = await finished(stream.end("x")).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(AtomicWriteError);
  expect(error).toMatchObject({ step: "create", code: "ENOENT" });
});
