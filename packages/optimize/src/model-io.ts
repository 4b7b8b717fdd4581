/**
 * Reading the source model and writing variants, with the sizes and digests
 * a variant record needs. A model is its `.onnx` file plus any external data
 * files it names; both count towards its size and are hashed.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { writeFileAtomic } from "@slmops/atomic-file";
import { decodeModel, encodeModel, type ModelProto } from "@slmops/onnx";

/** One file of a model on disk. */
export interface ModelFile {
  /** The file's name relative to the model's directory. */
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** A model on disk: where it is, how big, and its digest. */
export interface ModelFiles {
  readonly path: string;
  /** sha256 of the `.onnx` file. */
  readonly sha256: string;
  /** Bytes of every file, external data included. */
  readonly bytes: number;
  readonly files: readonly ModelFile[];
}

/** Reads and decodes a model file (the file is untrusted: the decoder bounds and validates it). */
export async function loadModel(path: string): Promise<ModelProto> {
  const bytes = await readFile(path);
  return decodeModel(bytes, { name: path });
}

/** Writes a model atomically (temp file, fsync, rename). Returns its bytes. */
export async function saveModel(model: ModelProto, path: string): Promise<Uint8Array> {
  const bytes = encodeModel(model);
  await writeFileAtomic(path, bytes);
  return bytes;
}

/** Names of the external data files a model refers to, deduplicated. */
export function externalDataFiles(model: ModelProto): string[] {
  const names = new Set<string>();
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataLocation !== 1) continue;
    const location = t.externalData.find((e) => e.key === "location")?.value;
    if (location) names.add(location);
  }
  return [...names];
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Sizes and digests of a model file and its external data. */
export async function describeModelFiles(path: string, model: ModelProto): Promise<ModelFiles> {
  const dir = dirname(path);
  const names = [basename(path), ...externalDataFiles(model)];
  const files: ModelFile[] = [];
  for (const name of names) {
    const full = join(dir, name);
    files.push({ name, bytes: (await stat(full)).size, sha256: await sha256File(full) });
  }
  return { path, sha256: files[0]!.sha256, bytes: files.reduce((a, f) => a + f.bytes, 0), files };
}
