import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** sha256 of a file's bytes, streamed, as lowercase hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** sha256 over several files, each framed by its name and length so files cannot be shifted into each other. */
export async function sha256Files(paths: readonly { name: string; path: string }[]): Promise<string> {
  const hash = createHash("sha256");
  for (const { name, path } of paths) {
    hash.update(`${name}\0`);
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    hash.update("\0");
  }
  return hash.digest("hex");
}
