// What crash safety costs: writeFileAtomic (temp file, fsync, rename, fsync
// directory) against fs.writeFile (no durability at all) and against
// fs.writeFile followed by fsync (durable, but not atomic), on the same files
// in the same run. Prints the median time per write and the ratios.
//
//   pnpm --filter @slmops/atomic-file bench     (after a build)
import { Buffer } from "node:buffer";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { writeFileAtomic } from "@slmops/atomic-file";

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
} finally {
  await rm(dir, { recursive: true, force: true });
}
