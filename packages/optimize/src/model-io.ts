/**
 * Reading the source model and writing variants, with the sizes and digests
 * a variant record needs. A model is its `.onnx` file plus any external data
 * file it names; both count towards its size and its identity.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { basename, dirname, isAbsolute, posix, relative, sep } from "node:path";
import { readModel, writeModel, type ModelProto } from "@slmops/onnx";
import { describeVariant, variantBytes, type VariantFile, type VariantFiles } from "@slmops/variant-identity";

/** One file of a model on disk: its name beside the `.onnx` file, length and sha256. */
export type ModelFile = VariantFile;

/**
 * A model on disk: where it is, how big, and its identity — its files (the
 * `.onnx` file first, then its external data) and the digest over them
 * (`@slmops/variant-identity`), the digest bench reports as `model-sha256`.
 */
export interface ModelFiles extends VariantFiles {
  readonly path: string;
  /** Bytes of every file, external data included. */
  readonly bytes: number;
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

/**
 * The identity of a model file and the external data files it names
 * (locations relative to its directory, or paths beside it), each read once.
 */
export async function describeModelFiles(path: string, dataFiles: readonly string[]): Promise<ModelFiles> {
  const dir = dirname(path);
  const names = [basename(path), ...dataFiles.map((f) => (isAbsolute(f) ? relative(dir, f) : posix.normalize(f)).split(sep).join("/"))];
  const identity = await describeVariant(dir, names, { what: "model file" });
  return { path, ...identity, bytes: variantBytes(identity) };
}
