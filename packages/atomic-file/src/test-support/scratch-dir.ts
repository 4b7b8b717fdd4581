import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

/** A fresh directory under the system temp dir; `remove()` deletes it. */
export async function scratchDir(): Promise<{ dir: string; entries: () => Promise<string[]>; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "slmops-atomic-file-"));
  return {
    dir,
    entries: async () => (await readdir(dir)).sort(),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** `length` bytes, all equal to `byte`. */
export function uniform(byte: string, length: number): Buffer {
  return Buffer.alloc(length, byte);
}

/** Whether `data` is exactly one of `candidates`. */
export function isOneOf(data: Buffer, candidates: readonly Buffer[]): boolean {
  return candidates.some((candidate) => candidate.equals(data));
}
