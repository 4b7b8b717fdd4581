// What crash safety costs: writeFileAtomic (temp file, fsync, rename, fsync
// directory) against fs.writeFile (no durability at all) and against
// fs.writeFile followed by fsync (durable, but not atomic), on the same files
// in the same run. Prints the median time per write and the ratios.
//
// Then a 100 MB copy through createAtomicWriteStream (1 MiB chunks, as a
// release stores a variant's weights), flushed every 16 MiB as it goes (the
// default) against one fsync at the end (syncEveryBytes: 0), against a plain
// read of the same bytes.
//
//   pnpm --filter @slmops/atomic-file bench     (after a build)
import { Buffer } from "node:buffer";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { createAtomicWriteStream, writeFileAtomic } from "@slmops/atomic-file";

const ROUNDS = 5;
const print = (line) => process.stdout.write(`${line}\n`);
const cases = [
  { name: "4 KiB", size: 4 * 1024, writes: 200 },
  { name: "1 MiB", size: 1024 * 1024, writes: 40 },
  { name: "32 MiB", size: 32 * 1024 * 1024, writes: 4 },
];

async function plain(target, data) {
  await writeFile(target, data);
}

async function plainFsync(target, data) {
  const handle = await open(target, "w");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const methods = { "fs.writeFile": plain, "fs.writeFile+fsync": plainFsync, writeFileAtomic: (target, data) => writeFileAtomic(target, data) };

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const dir = await mkdtemp(path.join(tmpdir(), "slmops-atomic-bench-"));
try {
  print(`node ${process.version}, ${ROUNDS} rounds, median ms per write; directory ${path.basename(dir)} under the system temp dir`);
  print("| size | writes/round | fs.writeFile | fs.writeFile+fsync | writeFileAtomic | atomic / writeFile | atomic / writeFile+fsync |");
  print("| --- | --- | --- | --- | --- | --- | --- |");
  for (const { name, size, writes } of cases) {
    const data = Buffer.alloc(size, "x");
    const perWrite = Object.fromEntries(Object.keys(methods).map((method) => [method, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Interleave the methods so that drift in the machine hits all alike.
      for (const [method, write] of Object.entries(methods)) {
        const target = path.join(dir, `${method}.bin`);
        const start = process.hrtime.bigint();
        for (let index = 0; index < writes; index++) await write(target, data);
        perWrite[method].push(Number(process.hrtime.bigint() - start) / 1e6 / writes);
      }
    }
    const [plainMs, fsyncMs, atomicMs] = Object.keys(methods).map((method) => median(perWrite[method]));
    print(
      `| ${name} | ${writes} | ${plainMs.toFixed(3)} | ${fsyncMs.toFixed(3)} | ${atomicMs.toFixed(3)} | ${(atomicMs / plainMs).toFixed(2)}× | ${(atomicMs / fsyncMs).toFixed(2)}× |`,
    );
  }

  const source = path.join(dir, "source.bin");
  await writeFile(source, Buffer.alloc(100e6, "w"));
  const copies = {
    "read only": () => pipeline(createReadStream(source, { highWaterMark: 1 << 20 }), async (chunks) => { for await (const _ of chunks); }),
    "stream, fsync at the end": () => pipeline(createReadStream(source, { highWaterMark: 1 << 20 }), createAtomicWriteStream(path.join(dir, "end.bin"), { syncEveryBytes: 0 })),
    "stream, flushed every 16 MiB": () => pipeline(createReadStream(source, { highWaterMark: 1 << 20 }), createAtomicWriteStream(path.join(dir, "every.bin"))),
  };
  const perCopy = Object.fromEntries(Object.keys(copies).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, copy] of Object.entries(copies)) {
      const start = process.hrtime.bigint();
      await copy();
      perCopy[name].push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  const readMs = median(perCopy["read only"]);
  print("");
  print("| 100 MB copy | median ms | ratio to reading it |");
  print("| --- | --- | --- |");
  for (const name of Object.keys(copies)) print(`| ${name} | ${median(perCopy[name]).toFixed(0)} | ${(median(perCopy[name]) / readMs).toFixed(2)}× |`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
