/**
 * The lockfile that pins onnxruntime-node. One copy ships in this package
 * (`src/onnxruntime/`); bundlers inline it into each action, so an action
 * carries no lockfile of its own.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import shippedManifest from "./onnxruntime/package.json" with { type: "json" };
import shippedLock from "./onnxruntime/package-lock.json" with { type: "json" };
import { MAX_JSON_BYTES } from "./json.js";
import { PACKAGE } from "./package.js";

/** The two files `npm ci` installs from. */
export interface PinnedLock {
  /** package.json text. */
  readonly packageJson: string;
  /** package-lock.json text. */
  readonly packageLock: string;
}

/** The lock this package ships: onnxruntime-node at the version `@slmops/runtime` is built against. */
export const SHIPPED_LOCK: PinnedLock = {
  packageJson: `${JSON.stringify(shippedManifest, null, 2)}\n`,
  packageLock: `${JSON.stringify(shippedLock, null, 2)}\n`,
};

/** Reads a lock from a directory holding package.json and package-lock.json. */
export async function readLockDir(dir: string): Promise<PinnedLock> {
  const read = async (name: string) => {
    const text = await readFile(join(dir, name), "utf8");
    if (text.length > MAX_JSON_BYTES) throw new Error(`${join(dir, name)} is larger than ${MAX_JSON_BYTES} bytes`);
    return text;
  };
  return { packageJson: await read("package.json"), packageLock: await read("package-lock.json") };
}

/** The version of onnxruntime-node a lock pins (default: the shipped one). */
export function pinnedVersion(lock: PinnedLock = SHIPPED_LOCK): string {
  const parsed = JSON.parse(lock.packageLock) as { packages?: Record<string, { version?: unknown } | undefined> };
  const version = parsed.packages?.[`node_modules/${PACKAGE}`]?.version;
  if (typeof version !== "string") throw new Error(`the lockfile does not pin ${PACKAGE}`);
  return version;
}
