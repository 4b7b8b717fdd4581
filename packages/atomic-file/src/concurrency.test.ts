/**
 * Many writers at once, in this process and in others, while readers keep
 * reading: every read returns one writer's content whole.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { writeFileAtomic } from "./index.js";
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

/** Reads `target` over and over until `until` settles; returns every content seen. */
async function readWhile(target: string, until: Promise<unknown>): Promise<Buffer[]> {
  let done = false;
  void until.finally(() => (done = true));
  const seen: Buffer[] = [];
  while (!done) seen.push(await readFile(target));
  return seen;
}

test("concurrent writers in one process never produce a mixed file", async () => {
  const target = path.join(scratch.dir, "shared.bin");
  const initial = uniform("0", 100);
  await writeFile(target, initial);
  const payloads = "ABCDEFGHIJKLMNOP".split("").map((letter, index) => uniform(letter, 256 * 1024 + index * 4099));

  const writers = Promise.all(
    payloads.map(async (payload) => {
      for (let round = 0; round < 5; round++) await writeFileAtomic(target, payload);
    }),
  );
  const seen = await readWhile(target, writers);
  await writers;

  expect(seen.length).toBeGreaterThan(0);
  const mixed = seen.filter((content) => !isOneOf(content, [initial, ...payloads]));
  expect(mixed).toHaveLength(0);
  expect(isOneOf(await readFile(target), payloads)).toBe(true);
  expect(await scratch.entries()).toEqual(["shared.bin"]);
}, SLOW);

test("concurrent writer processes never produce a mixed file", async () => {
  const target = path.join(scratch.dir, "shared.bin");
  const initial = uniform("0", 100);
  await writeFile(target, initial);
  const specs = [
    { byte: "w", size: 1024 * 1024 },
    { byte: "x", size: 1024 * 1024 + 1 },
    { byte: "y", size: 700 * 1024 },
    { byte: "z", size: 1536 * 1024 },
  ];
  const payloads = specs.map(({ byte, size }) => uniform(byte, size));
  const started = specs.map(({ byte, size }) => {
    const child = WriterChild.start(["writer", target, byte, "15", String(size)]);
    children.push(child);
    return child;
  });
  const allDone = Promise.all(started.map((child) => child.waitFor((lines) => lines.includes("done"), 60_000)));
  const seen = await readWhile(target, allDone);
  await allDone;
  const exits = await Promise.all(started.map((child) => child.exited));
  expect(exits.map((exit) => exit.code)).toEqual([0, 0, 0, 0]);

  expect(seen.length).toBeGreaterThan(0);
  expect(seen.filter((content) => !isOneOf(content, [initial, ...payloads]))).toHaveLength(0);
  expect(new Set(seen.map((content) => content[0])).size).toBeGreaterThan(1);
  expect(isOneOf(await readFile(target), payloads)).toBe(true);
  expect(await scratch.entries()).toEqual(["shared.bin"]);
}, SLOW);
