/**
 * Reading an artifact's zip archive, which is untrusted input: the number of
 * files, each file's size and the total size are bounded before anything is
 * inflated, and entry names must be plain relative paths.
 */
import { unzipSync } from "fflate";
import { ConfigurationError } from "@slmops/diagnostics";

export interface UnzipLimits {
  /** Most files accepted (default 1000). */
  readonly maxFiles?: number;
  /** Largest uncompressed size of all files together (default 64 MiB). */
  readonly maxTotalBytes?: number;
}

/** Whether a zip entry name is a safe relative path (no `..`, not absolute, no backslashes or drive letters). */
export function isSafeEntryName(name: string): boolean {
  if (name === "" || name.startsWith("/") || name.includes("\\") || /^[a-zA-Z]:/.test(name) || name.includes("\0")) return false;
  return name.split("/").every((part) => part !== "..");
}

/** The files of a zip archive, by name (directories left out). */
export function unzipArtifact(zip: Uint8Array, what: string, limits: UnzipLimits = {}): Map<string, Uint8Array> {
  const maxFiles = limits.maxFiles ?? 1000;
  const maxTotal = limits.maxTotalBytes ?? 64 * 1024 * 1024;
  let files = 0;
  let total = 0;
  let problem: string | undefined;
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(zip, {
      filter: (file) => {
        if (problem) return false;
        if (file.name.endsWith("/")) return false;
        if (!isSafeEntryName(file.name)) problem = `it contains an unsafe path "${file.name}"`;
        else if (++files > maxFiles) problem = `it has more than ${maxFiles} files`;
        else if ((total += file.originalSize) > maxTotal) problem = `its files add up to more than ${maxTotal} bytes`;
        return problem === undefined;
      },
    });
  } catch (error) {
    throw new ConfigurationError(`${what} is not a readable zip archive: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (problem) throw new ConfigurationError(`${what} was refused: ${problem}`);
  const out = new Map<string, Uint8Array>();
  for (const [name, data] of Object.entries(entries)) {
    // The declared size was checked above; check the real one too.
    if (data.byteLength > maxTotal) throw new ConfigurationError(`${what} was refused: "${name}" inflates beyond ${maxTotal} bytes`);
    out.set(name, data);
  }
  return out;
}
