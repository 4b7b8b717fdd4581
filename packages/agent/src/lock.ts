/**
 * One agent at a time on an install directory: `state/lock` holds the pid of
 * the agent that works on it, created exclusively. A lock whose process is
 * gone (killed, power cut) is stale and taken over; a live one is refused.
 */
import { open, readFile, rm } from "node:fs/promises";
import { ConfigurationError } from "@slmops/diagnostics";

export interface Lock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function acquireLock(path: string): Promise<Lock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, "wx", 0o644);
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      return { release: () => rm(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const pid = Number.parseInt((await readFile(path, "utf8").catch(() => "")).trim(), 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new ConfigurationError(`another agent (pid ${pid}) is working on this install directory (${path}); wait for it, or stop the service before running \`slmops agent once\``);
    }
    await rm(path, { force: true }); // stale: its process is gone
  }
  throw new ConfigurationError(`could not take the agent's lock ${path}; another agent keeps taking it`);
}
