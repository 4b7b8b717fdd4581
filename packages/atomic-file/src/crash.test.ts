/**
 * A writer killed with SIGKILL at any moment leaves the target with its old
 * content or its new content, whole. (A real process crash; a power cut is
 * what the fsyncs are for, and cannot be staged in a test.)
 */
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { removeStaleTempFiles } from "./index.js";
import { WriterChild } from "./test-support/child.js";
import { isOneOf, scratchDir, uniform } from "./test-support/scratch-dir.js";

let scratch: Awaited<ReturnType<typeof scratchDir>>;
const children: WriterChild[] = [];
beforeEach(async () => {
  scratch = await scratchDir();
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()));
  await scratch.remove();
});

// These tests run child processes and write megabytes with fsync: give them
// room on a loaded machine (every wait inside is bounded too).
const SLOW = 120_000;

function start(args: string[]): WriterChild {
  const child = WriterChild.start(args);
  children.push(child);
  return child;
}

test("a writer killed mid-stream leaves the old file intact; its orphan is cleaned up afterwards", async () => {
  const target = path.join(scratch.dir, "model.onnx");
  const old = uniform("o", 3 * 1024 * 1024);
  await writeFile(target, old);

  const child = start(["hang", target, String(8 * 1024 * 1024)]);
  await child.waitFor((lines) => lines.some((line) => line.startsWith("mid-write ")));
  const tempPath = child.lines.find((line) => line.startsWith("mid-write "))?.slice("mid-write ".length) ?? "";
  expect((await stat(tempPath)).size).toBeGreaterThanOrEqual(8 * 1024 * 1024);
  await child.kill();

  expect((await readFile(target)).equals(old)).toBe(true);
  expect(await scratch.entries()).toEqual([path.basename(tempPath), "model.onnx"].sort());
  expect(await removeStaleTempFiles(target)).toEqual([tempPath]);
  expect(await scratch.entries()).toEqual(["model.onnx"]);
}, SLOW);

test("a writer rewriting the file in a loop, killed at arbitrary moments, always leaves one whole version", async () => {
  const target = path.join(scratch.dir, "state.bin");
  const versions = [uniform("a", 3 * 1024 * 1024), uniform("b", 2 * 1024 * 1024 + 17)];
  let killedMidWrite = 0;
  for (let round = 0; round < 6; round++) {
    const child = start(["loop", target, String(versions[0]?.length), String(versions[1]?.length)]);
    const writes = 1 + round;
    await child.waitFor((lines) => lines.filter((line) => line === "wrote").length >= writes);
    // Let it get some way into the next write, a different way each round.
    await new Promise((resolve) => setTimeout(resolve, (round * 7) % 13));
    await child.kill();
    const content = await readFile(target);
    expect(isOneOf(content, versions), `round ${round}: ${content.length} bytes`).toBe(true);
    // An orphaned temporary file means the kill landed inside a write.
    killedMidWrite += (await removeStaleTempFiles(target)).length;
    expect(await scratch.entries()).toEqual(["state.bin"]);
  }
  expect(killedMidWrite, "rounds whose kill landed mid-write").toBeGreaterThan(0);
}, SLOW);

test("removeStaleTempFiles keeps the temporary file of a writer that is still running", async () => {
  const target = path.join(scratch.dir, "live.bin");
  const child = start(["hang", target, String(1024 * 1024)]);
  await child.waitFor((lines) => lines.some((line) => line.startsWith("mid-write ")));
  expect(await removeStaleTempFiles(target)).toEqual([]);
  expect(await scratch.entries()).toHaveLength(1);
  await child.kill();
  expect(await removeStaleTempFiles(target)).toHaveLength(1);
  expect(await scratch.entries()).toEqual([]);
}, SLOW);
