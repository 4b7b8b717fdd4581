import { randomBytes } from "node:crypto";
import path from "node:path";

/** Longest part of the target's name kept in a temporary name (names are limited to 255 bytes). */
const MAX_NAME_PART = 96;

function namePart(target: string): string {
  return path.basename(target).slice(0, MAX_NAME_PART);
}

/**
 * A fresh temporary path beside `target`, in the same directory (so the final
 * rename never crosses a file system): `.<name>.<pid>.<random>.tmp`.
 */
export function tempPathFor(target: string): string {
  const random = randomBytes(6).toString("hex");
  return path.join(path.dirname(target), `.${namePart(target)}.${process.pid}.${random}.tmp`);
}

/** A temporary file of `target` found in its directory, and the id of the process that made it. */
export interface TempFileOf {
  path: string;
  pid: number;
}

/** Whether `name` (a directory entry beside `target`) is one of `target`'s temporary files. */
export function parseTempName(target: string, name: string): TempFileOf | undefined {
  const prefix = `.${namePart(target)}.`;
  if (!name.startsWith(prefix) || !name.endsWith(".tmp")) return undefined;
  const match = /^(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length));
  if (!match?.[1]) return undefined;
  return { path: path.join(path.dirname(target), name), pid: Number(match[1]) };
}
