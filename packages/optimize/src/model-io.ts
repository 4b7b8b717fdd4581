/**
 * Reading the source model and writing variants, with the sizes and digests
 * a variant record needs. A model is its `.onnx` file plus any external data
 * file it names; both count towards its size and are hashed.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { readModel, writeModel, type ModelProto } from "@slmops/onnx";

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

/**
 * Reads a model file. The file and its external data are untrusted: the
 * reader bounds the protobuf and checks every external reference first.
 * External tensors stay on disk and are read one at a time as passes need
 * them, so peak memory follows the largest tensor, not the whole model.
 */
export async function loadModel(path: string): Promise<ModelProto> {
  return readModel(path, { externalData: "lazy" });
}

/**
 * Writes a model atomically (each file: temp file, fsync, rename), its
 * weights in `<file>.data` beside it when `externalData` is set. Returns the
 * names of the files written.
 */
export async function saveModel(model: ModelProto, path: string, externalData = false): Promise<string[]> {
  const result = await writeModel(path, model, { externalData });
  return result.dataPath ? [path, result.dataPath] : [path];
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

/** Sizes and digests of a model file and the data files named beside it. */
export async function describeModelFiles(path: string, dataFiles: readonly string[]): Promise<ModelFiles> {
  const dir = dirname(path);
  const files: ModelFile[] = [];
  for (const name of [basename(path), ...dataFiles.map((f) => basename(f))]) {
    const full = join(dir, name);
    files.push({ name, bytes: (await stat(full)).size, sha256: await sha256File(full) });
  }
  return { path, sha256: files[0]!.sha256, bytes: files.reduce((a, f) => a + f.bytes, 0), files };
}
