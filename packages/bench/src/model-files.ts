/**
 * A model's files on disk: the .onnx file plus the external data files its
 * tensors name. The model is untrusted input, so the protobuf is walked with
 * bounds (nesting depth, field lengths) and every external data location must
 * be a plain relative path that stays in the model's directory and is not a
 * link.
 */
import { lstat, readFile, realpath } from "node:fs/promises";
import { dirname, isAbsolute, join, normalize, sep } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";

export interface ModelFile {
  /** Path relative to the model's directory (the model file itself is its base name). */
  readonly name: string;
  readonly path: string;
  readonly bytes: number;
}

export interface ModelFiles {
  readonly files: readonly ModelFile[];
  /** Bytes on disk of the model file and its external data. */
  readonly totalBytes: number;
}

const MAX_DEPTH = 64;

// Field numbers from onnx.proto.
const MODEL_GRAPH = 7;
const MODEL_FUNCTIONS = 25;
const FUNCTION_NODE = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_SPARSE_INITIALIZER = 15;
const NODE_ATTRIBUTE = 5;
const ATTRIBUTE_T = 5;
const ATTRIBUTE_G = 6;
const ATTRIBUTE_TENSORS = 10;
const ATTRIBUTE_GRAPHS = 11;
const ATTRIBUTE_SPARSE_TENSOR = 22;
const ATTRIBUTE_SPARSE_TENSORS = 23;
const SPARSE_VALUES = 1;
const SPARSE_INDICES = 2;
const TENSOR_EXTERNAL_DATA = 13;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

class WireError extends Error {}

interface Field {
  readonly number: number;
  readonly bytes: Uint8Array | undefined;
}

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= buf.length) throw new WireError("truncated varint");
      const b = buf[pos++] as number;
      if (shift < 53) result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 70) throw new WireError("varint too long");
    }
  };
  while (pos < buf.length) {
    const tag = varint();
    const number = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      varint();
      yield { number, bytes: undefined };
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4;
      if (pos > buf.length) throw new WireError("truncated fixed-width field");
      yield { number, bytes: undefined };
    } else if (wire === 2) {
      const length = varint();
      if (length > buf.length - pos) throw new WireError("a field runs past the end of the file");
      const bytes = buf.subarray(pos, pos + length);
      pos += length;
      yield { number, bytes };
    } else {
      throw new WireError(`unsupported wire type ${wire}`);
    }
  }
}

function children(buf: Uint8Array, number: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of fields(buf)) if (f.number === number && f.bytes) out.push(f.bytes);
  return out;
}

/** The `location` values of every external tensor in a serialized ModelProto. */
export function externalDataLocations(model: Uint8Array): string[] {
  const locations = new Set<string>();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const tensor = (buf: Uint8Array) => {
    for (const entry of children(buf, TENSOR_EXTERNAL_DATA)) {
      let key: string | undefined;
      let value: string | undefined;
      for (const f of fields(entry)) {
        if (f.number === ENTRY_KEY && f.bytes) key = decoder.decode(f.bytes);
        if (f.number === ENTRY_VALUE && f.bytes) value = decoder.decode(f.bytes);
      }
      if (key === "location" && value !== undefined) locations.add(value);
    }
  };
  const sparse = (buf: Uint8Array) => {
    for (const t of children(buf, SPARSE_VALUES)) tensor(t);
    for (const t of children(buf, SPARSE_INDICES)) tensor(t);
  };
  const nodes = (list: Uint8Array[], depth: number) => {
    for (const node of list) {
      for (const attribute of children(node, NODE_ATTRIBUTE)) {
        for (const f of fields(attribute)) {
          if (!f.bytes) continue;
          if (f.number === ATTRIBUTE_T || f.number === ATTRIBUTE_TENSORS) tensor(f.bytes);
          else if (f.number === ATTRIBUTE_G || f.number === ATTRIBUTE_GRAPHS) graph(f.bytes, depth + 1);
          else if (f.number === ATTRIBUTE_SPARSE_TENSOR || f.number === ATTRIBUTE_SPARSE_TENSORS) sparse(f.bytes);
        }
      }
    }
  };
  const graph = (buf: Uint8Array, depth: number) => {
    if (depth > MAX_DEPTH) throw new WireError(`subgraphs nest deeper than ${MAX_DEPTH} levels`);
    for (const f of fields(buf)) {
      if (!f.bytes) continue;
      if (f.number === GRAPH_INITIALIZER) tensor(f.bytes);
      else if (f.number === GRAPH_SPARSE_INITIALIZER) sparse(f.bytes);
      else if (f.number === GRAPH_NODE) nodes([f.bytes], depth);
    }
  };
  for (const f of fields(model)) {
    if (!f.bytes) continue;
    if (f.number === MODEL_GRAPH) graph(f.bytes, 0);
    else if (f.number === MODEL_FUNCTIONS) nodes(children(f.bytes, FUNCTION_NODE), 0);
  }
  return [...locations];
}

/** Checks that an external data location is a plain relative path inside the model's directory. */
export function checkLocation(location: string, modelPath: string): string {
  const bad = (why: string) =>
    new ConfigurationError(`${modelPath}: external data location \`${location}\` ${why}; keep external data files next to the model`);
  if (location.length === 0 || location.includes("\0")) throw bad("is empty or contains a NUL byte");
  if (isAbsolute(location) || /^[a-zA-Z]:/.test(location)) throw bad("is an absolute path");
  const normalized = normalize(location);
  if (normalized.split(/[\\/]/).includes("..") || normalized.startsWith(`..${sep}`)) throw bad("leaves the model's directory");
  return normalized;
}

/** The model file and its external data files, with their sizes. */
export async function modelFiles(modelPath: string): Promise<ModelFiles> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(modelPath);
  } catch (cause) {
    throw new ConfigurationError(`cannot read model ${modelPath}: ${(cause as Error).message}`, { cause });
  }
  let locations: string[];
  try {
    locations = externalDataLocations(bytes);
  } catch (cause) {
    if (cause instanceof WireError || cause instanceof TypeError) {
      throw new ConfigurationError(`${modelPath} is not a valid ONNX model: ${cause.message}`, { cause });
    }
    throw cause;
  }
  const dir = dirname(modelPath);
  const realDir = await realpath(dir);
  const files: ModelFile[] = [{ name: modelPath.split(/[\\/]/).pop() ?? modelPath, path: modelPath, bytes: bytes.byteLength }];
  for (const location of locations.sort()) {
    const name = checkLocation(location, modelPath);
    const path = join(dir, name);
    const stat = await lstat(path).catch((cause: unknown) => {
      throw new ConfigurationError(`${modelPath}: external data file \`${location}\` is missing`, { cause });
    });
    if (stat.isSymbolicLink() || !stat.isFile()) {
      throw new ConfigurationError(`${modelPath}: external data file \`${location}\` is not a regular file (links are refused)`);
    }
    const real = await realpath(path);
    if (!real.startsWith(realDir + sep)) {
      throw new ConfigurationError(`${modelPath}: external data file \`${location}\` resolves outside the model's directory`);
    }
    files.push({ name, path, bytes: stat.size });
  }
  return { files, totalBytes: files.reduce((sum, f) => sum + f.bytes, 0) };
}
