/**
 * For tests of code that writes files: a small file system of its own, to
 * make the machine refuse a write for real (full, read-only) without
 * touching the rest of the disk.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface MountedTmpfs {
  /** The mount point, a fresh directory. */
  readonly dir: string;
  /** Unmounts it and removes the mount point. */
  unmount(): void;
}

/**
 * Mounts a tmpfs of `size` (e.g. `64k`) on a fresh directory, read-only when
 * asked, or already full (one file, `.fill`, takes every byte) so that any
 * write to it fails with ENOSPC. Returns why not when mounting is not permitted here (not root, no
 * `mount`, a container without the capability), for the test to skip with.
 */
export function mountTmpfs(options: { size: string; readOnly?: boolean; full?: boolean }): MountedTmpfs | { readonly skip: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "slmops-tmpfs-"));
  const flags = `size=${options.size}${options.readOnly ? ",ro" : ""}`;
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", flags, "tmpfs", dir], { encoding: "utf8" });
  if (mounted.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    const why = mounted.error?.message ?? (mounted.stderr.trim() || `mount exited with ${String(mounted.status)}`);
    return { skip: `cannot mount a tmpfs here (${why}); run as root with mount permitted to test a full or read-only file system` };
  }
  if (options.full) {
    try {
      writeFileSync(path.join(dir, ".fill"), Buffer.alloc(64 * 1024 * 1024));
    } catch {
      // ENOSPC once the file system is full: what was asked for.
    }
  }
  return {
    dir,
    unmount() {
      spawnSync("umount", [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
