import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { parseTempName } from "./temp-path.js";

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temporary files that writers of `target` left behind when their
 * process died mid-write (a crash, SIGKILL, power loss). Files of writers
 * still running on this machine are kept. Process ids are only meaningful on
 * the machine (and PID namespace) that wrote the files.
 *
 * @returns the paths removed.
 */
export async function removeStaleTempFiles(target: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(path.dirname(target));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    const temp = parseTempName(target, name);
    if (!temp || isRunning(temp.pid)) continue;
    await rm(temp.path, { force: true });
    removed.push(temp.path);
  }
  return removed;
}
