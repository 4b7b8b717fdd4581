/**
 * External data: tensors whose bytes live in a file next to the model
 * (`data_location = EXTERNAL`, `external_data` keys location/offset/length/
 * checksum). Everything a model says about those files is untrusted: the
 * path must stay inside the model's directory without links (symbolic or
 * hard), the file must be a regular file, and the byte range must lie inside it and match the
 * size the tensor declares.
 */
import { constants } from "node:fs";
import { lstat, open, realpath } from "node:fs/promises";
import { isAbsolute, join, posix, sep, win32 } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";
import { dataTypeName, elementCount, rawByteLength } from "./data-type.js";
import type { ExternalSource } from "./external-source.js";
import { DataLocation, type TensorProto } from "./proto.js";
import { forEachTensor, type TensorPlace } from "./visit.js";
import type { ModelProto } from "./proto.js";

/** A model's reference to external data that cannot be accepted. */
export class ExternalDataError extends ConfigurationError {}

export interface ExternalDataCheckOptions {
  /** Largest tensor accepted, in bytes (a sanity bound). Default 1 TiB. */
  readonly maxTensorBytes?: number;
}

const KNOWN_KEYS = new Set(["location", "offset", "length", "checksum"]);
const DEFAULT_MAX_TENSOR_BYTES = 2 ** 40;

interface FileInfo {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
}

function describeTensor(tensor: TensorProto, place: TensorPlace): string {
  const name = tensor.name ? `tensor "${tensor.name}"` : "an unnamed tensor";
  if (place.kind === "attribute") return `${name} (attribute of node "${place.node ?? ""}")`;
  return name;
}

/** Checks a location string on its own: relative, no `..`, no NUL, no drive or UNC prefix. */
export function checkLocationSyntax(location: string): string | undefined {
  if (location.length === 0) return "an empty location";
  if (location.length > 4096) return "a location longer than 4096 characters";
  if (location.includes("\0")) return "a location containing a NUL character";
  if (isAbsolute(location) || posix.isAbsolute(location) || win32.isAbsolute(location) || /^[a-zA-Z]:/.test(location)) {
    return `the absolute path "${location}"`;
  }
  const parts = location.split(/[\\/]/);
  if (parts.includes("..")) return `the path "${location}", which climbs out of the model's directory with ".."`;
  if (parts.every((p) => p === "" || p === ".")) return `the path "${location}", which names no file`;
  return undefined;
}

function parseDecimal(value: string | undefined): bigint | undefined {
  if (value === undefined || !/^[0-9]{1,20}$/.test(value)) return undefined;
  return BigInt(value);
}

async function checkFile(baseDir: string, location: string): Promise<FileInfo | string> {
  const parts = location.split(/[\\/]/).filter((p) => p !== "" && p !== ".");
  let current = baseDir;
  for (let i = 0; i < parts.length; i++) {
    current = join(current, parts[i]!);
    let st;
    try {
      st = await lstat(current);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === "ENOENT" || code === "ENOTDIR" ? "does not exist" : `cannot be read (${code ?? String(error)})`;
    }
    if (st.isSymbolicLink()) return i === parts.length - 1 ? "is a symbolic link" : `goes through the symbolic link "${parts.slice(0, i + 1).join("/")}"`;
    if (i < parts.length - 1 && !st.isDirectory()) return `goes through "${parts.slice(0, i + 1).join("/")}", which is not a directory`;
    if (i === parts.length - 1 && !st.isFile()) return "is not a regular file";
  }
  // Open without following a final link (a swap after the checks above) and check what was opened.
  let handle;
  try {
    handle = await open(current, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (error) {
    return `cannot be opened (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return "is not a regular file";
    // A hard link is indistinguishable from the file it links to, which may
    // live anywhere on the same file system: a second name for it is refused.
    if (st.nlink > 1) {
      return `has ${st.nlink} hard links, and a hard link can make a file outside the model's directory appear inside it; replace the link with a copy of the file`;
    }
    const [realBase, realFile] = await Promise.all([realpath(baseDir), realpath(current)]);
    if (!realFile.startsWith(realBase.endsWith(sep) ? realBase : realBase + sep)) return "resolves outside the model's directory";
    return { path: current, dev: st.dev, ino: st.ino, size: st.size };
  } finally {
    await handle.close();
  }
}

/**
 * Checks every external reference in `model` against the files in
 * `baseDir`, and returns where each external tensor's bytes are. Throws
 * ExternalDataError, naming the tensor and the file, on the first bad one.
 */
export async function checkExternalData(
  model: ModelProto,
  modelName: string,
  baseDir: string,
  options: ExternalDataCheckOptions = {},
): Promise<Map<TensorProto, ExternalSource>> {
  const maxTensorBytes = BigInt(options.maxTensorBytes ?? DEFAULT_MAX_TENSOR_BYTES);
  const pending: { tensor: TensorProto; place: TensorPlace }[] = [];
  forEachTensor(model, (tensor, place) => {
    if (tensor.dataLocation === DataLocation.EXTERNAL) pending.push({ tensor, place });
    else if (tensor.dataLocation !== undefined && tensor.dataLocation !== DataLocation.DEFAULT) {
      throw new ExternalDataError(
        `${modelName}: ${describeTensor(tensor, place)} has unknown data_location ${tensor.dataLocation}; only DEFAULT (0) and EXTERNAL (1) exist`,
      );
    }
  });
  const files = new Map<string, Promise<FileInfo | string>>();
  const result = new Map<TensorProto, ExternalSource>();
  for (const { tensor, place } of pending) {
    const who = describeTensor(tensor, place);
    const fail = (problem: string, hint: string): never => {
      throw new ExternalDataError(`${modelName}: ${who} ${problem}; ${hint}`);
    };
    const entries = new Map<string, string>();
    for (const { key = "", value = "" } of tensor.externalData) {
      if (!KNOWN_KEYS.has(key)) fail(`has unknown external_data key "${key}"`, "only location, offset, length and checksum are allowed");
      if (entries.has(key)) fail(`repeats external_data key "${key}"`, "give each key once");
      entries.set(key, value);
    }
    const location = entries.get("location");
    if (location === undefined) return fail("is marked EXTERNAL but has no location", "set external_data location to the data file's name");
    const syntax = checkLocationSyntax(location);
    if (syntax) fail(`refers to external data at ${syntax}`, "external data must be a relative path inside the model's directory");
    if (
      (tensor.rawData !== undefined && tensor.rawData.byteLength > 0) ||
      tensor.floatData.length + tensor.int32Data.length + tensor.int64Data.length + tensor.doubleData.length + tensor.uint64Data.length + tensor.stringData.length > 0
    ) {
      fail("has both inline and external data", "keep the data in one place");
    }
    const dataType = tensor.dataType ?? 0;
    let count: bigint;
    try {
      count = elementCount(tensor.dims);
    } catch {
      return fail(`has an invalid shape [${tensor.dims.join(", ")}]`, "dimensions must be non-negative integers");
    }
    const expected = rawByteLength(dataType, count);
    if (expected === undefined) fail(`has data type ${dataTypeName(dataType)}, which cannot be stored externally`, "use a numeric type");
    const size = expected!;
    if (size > maxTensorBytes) {
      fail(`declares shape [${tensor.dims.join(", ")}] of ${dataTypeName(dataType)}, ${size} bytes`, `tensors above ${maxTensorBytes} bytes are refused`);
    }
    const offset = entries.has("offset") ? parseDecimal(entries.get("offset")) : 0n;
    if (offset === undefined) fail(`has external_data offset "${entries.get("offset")}"`, "offset must be a non-negative decimal integer");
    const lengthValue = entries.has("length") ? parseDecimal(entries.get("length")) : size;
    if (lengthValue === undefined) fail(`has external_data length "${entries.get("length")}"`, "length must be a non-negative decimal integer");
    if (lengthValue !== size) {
      fail(
        `declares ${lengthValue} bytes of external data but its shape [${tensor.dims.join(", ")}] of ${dataTypeName(dataType)} needs ${size}`,
        "the length must equal dims × element size",
      );
    }
    let info = files.get(location);
    if (!info) {
      info = checkFile(baseDir, location);
      files.set(location, info);
    }
    const file = await info;
    if (typeof file === "string") fail(`refers to external data file "${location}", which ${file}`, "external data must be a regular file inside the model's directory, not a link");
    const { path, dev, ino, size: fileSize } = file as FileInfo;
    if (offset! + size > BigInt(fileSize)) {
      fail(
        `reads bytes ${offset}..${offset! + size} of "${location}", which has only ${fileSize} bytes`,
        "the external data file is truncated or does not belong to this model",
      );
    }
    result.set(tensor, { path, location, offset: Number(offset), length: Number(size), dev, ino, size: fileSize });
  }
  return result;
}

/**
 * Reads every checked external tensor into `raw_data`, making the tensors
 * inline. One open file at a time, one read per tensor.
 */
export async function loadExternalData(sources: Map<TensorProto, ExternalSource>): Promise<void> {
  const byFile = new Map<string, [TensorProto, ExternalSource][]>();
  for (const entry of sources) {
    const list = byFile.get(entry[1].path) ?? [];
    list.push(entry);
    byFile.set(entry[1].path, list);
  }
  for (const [path, entries] of byFile) {
    const first = entries[0]![1];
    const handle = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    try {
      const st = await handle.stat();
      if (st.dev !== first.dev || st.ino !== first.ino || st.size !== first.size) {
        throw new ExternalDataError(`external data file "${first.location}" changed while the model was being read; read it again`);
      }
      for (const [tensor, source] of entries) {
        const bytes = new Uint8Array(source.length);
        let done = 0;
        while (done < source.length) {
          const { bytesRead } = await handle.read(bytes, done, Math.min(source.length - done, 1 << 30), source.offset + done);
          if (bytesRead === 0) throw new ExternalDataError(`external data file "${source.location}" ended early`);
          done += bytesRead;
        }
        tensor.rawData = bytes;
        delete tensor.dataLocation;
        tensor.externalData = [];
      }
    } finally {
      await handle.close();
    }
  }
}

