import { readFile, stat } from "node:fs/promises";

/** Largest JSON file read (package.json, lockfile, integrity record). */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** Parses a JSON file after checking it is not larger than {@link MAX_JSON_BYTES}. */
export async function readJson(path: string): Promise<unknown> {
  const info = await stat(path);
  if (info.size > MAX_JSON_BYTES) throw new Error(`${path} is larger than ${MAX_JSON_BYTES} bytes`);
  return JSON.parse(await readFile(path, "utf8")) as unknown;
}
