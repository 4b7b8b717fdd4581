/**
 * ONNX model files on disk: `readModel` (decode, check external data, load
 * or reference it) and `writeModel` (optionally moving large tensors into
 * one external data file; both files written atomically).
 */
import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, fsyncSync, openSync, writeSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { openRegularFile, UnreadableFileError } from "@slmops/contained-fs";
import { ConfigurationError } from "@slmops/diagnostics";
import { checkModelPrefix, decodeModel, encodeModelWith, InvalidModelError, ModelEncodeError } from "./codec.js";
import { rawByteLength } from "./data-type.js";
import { checkExternalData, checkLocationSyntax, loadExternalData } from "./external-data.js";
import { externalSourceOf, openExternalSource, readExternalSource, readFully, setExternalSource, type ExternalSource } from "./external-source.js";
import { DataLocation, type ModelProto, type TensorProto } from "./proto.js";
import { tensorElementCount, tensorRawBytes } from "./tensor-data.js";
import { forEachTensor } from "./visit.js";
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from "./wire-scan.js";

export interface ReadModelOptions {
  /**
   * What to do with tensors kept in external data files, once every reference
   * has been checked: `"load"` (default) reads them into `rawData` and makes
   * them inline; `"lazy"` leaves them external and reads each on demand
   * (`tensorRawBytes`, `tensorToArray`, `writeModel`), so a model larger
   * than memory can be rewritten tensor by tensor.
   */
  readonly externalData?: "load" | "lazy";
  readonly limits?: DecodeLimits;
  /** Largest single tensor accepted, in bytes. Default 1 TiB. */
  readonly maxTensorBytes?: number;
}

/** How much of a model is read and checked before the rest is read. */
const PREFIX_BYTES = 64 * 1024;

/**
 * The model file's bytes, opened through contained-fs: a FIFO or device is
 * refused without blocking and the size is checked on the open handle
 * before anything is read. The first 64 KiB are checked before the rest is
 * read, so a large file of garbage costs 64 KiB, not its size; a file that
 * grows or shrinks while it is read is refused.
 */
async function readModelBytes(path: string, limits: Required<DecodeLimits>): Promise<Uint8Array> {
  let opened;
  try {
    opened = await openRegularFile(path, { maxBytes: limits.maxBytes, what: "ONNX model" });
  } catch (error) {
    if (error instanceof UnreadableFileError && error.reason === "too-large") {
      throw new InvalidModelError(
        `${path} is not a valid ONNX model: it is ${error.size ?? "over"} bytes, more than the ${limits.maxBytes}-byte limit (larger models keep weights in external data)`,
        { cause: error },
      );
    }
    throw error;
  }
  const { handle, size } = opened;
  try {
    if (size === 0) {
      throw new InvalidModelError(
        `${path} is not a valid ONNX model: the file is empty (0 bytes); it was probably truncated while being written or downloaded — export or download the model again`,
      );
    }
    // One byte more than the size, to notice a file that grows while it is read.
    const bytes = new Uint8Array(size + 1);
    let length = 0;
    const fill = async (upTo: number): Promise<void> => {
      while (length < upTo) {
        let bytesRead: number;
        try {
          ({ bytesRead } = await handle.read(bytes, length, upTo - length, length));
        } catch (cause) {
          throw new UnreadableFileError(path, "io", `the ONNX model ${path} could not be read: ${(cause as Error).message}`, { cause });
        }
        if (bytesRead === 0) break;
        length += bytesRead;
      }
    };
    await fill(Math.min(size, PREFIX_BYTES));
    if (length === Math.min(size, PREFIX_BYTES) && size > PREFIX_BYTES) {
      checkModelPrefix(bytes.subarray(0, length), size, { name: path, limits });
    }
    await fill(size + 1);
    if (length !== size) {
      throw new UnreadableFileError(path, "io", `the ONNX model ${path} changed size while it was read (${size} bytes, then ${length}); read it again when nothing writes to it`);
    }
    return bytes.subarray(0, size);
  } finally {
    await handle.close();
  }
}

/**
 * Reads an ONNX model file, treating it and its external data as untrusted:
 * the protobuf is bounded and checked, then every external reference is
 * checked (relative path inside the model's directory, no `..`, no links,
 * regular file, byte range inside the file and equal to the tensor's size)
 * before the model is returned. Throws ConfigurationError with the file and
 * tensor named.
 */
export async function readModel(path: string, options: ReadModelOptions = {}): Promise<ModelProto> {
  const limits = { ...DEFAULT_DECODE_LIMITS, ...options.limits };
  const model = decodeModel(await readModelBytes(path, limits), { name: path, limits });
  const sources = await checkExternalData(model, path, dirname(path), { maxTensorBytes: options.maxTensorBytes });
  if (options.externalData === "lazy") {
    for (const [tensor, source] of sources) setExternalSource(tensor, source);
  } else {
    await loadExternalData(sources);
  }
  return model;
}

export interface ExternalDataOptions {
  /** Data file name, in the model's directory. Default `<model file name>.data`. */
  readonly location?: string;
  /** Tensors of at least this many bytes go to the data file. Default 1024. */
  readonly threshold?: number;
  /** Each tensor starts at a multiple of this many bytes (a power of two). Default 4096. */
  readonly align?: number;
}

export interface WriteModelOptions {
  /**
   * Move tensors at or above a size threshold into one external data file.
   * Needed for models over 2 GiB. Tensors read lazily from external data
   * always go to the new data file, streamed, never held in memory whole.
   */
  readonly externalData?: ExternalDataOptions | boolean;
  /** Called after each tensor is written to the data file (for progress bars). */
  readonly onTensorWritten?: (done: number, total: number, tensorName: string) => void;
}

export interface WriteModelResult {
  readonly modelPath: string;
  readonly modelBytes: number;
  /** Present when external data was written. */
  readonly dataPath?: string;
  readonly dataBytes: number;
  readonly externalTensors: number;
}

const COPY_CHUNK = 16 * 1024 * 1024;

function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.byteLength) {
    done += writeSync(fd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30), position + done);
  }
}

function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync a directory; the renames are still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function externalTensor(tensor: TensorProto, location: string, offset: number, length: number): TensorProto {
  const copy: TensorProto = {
    ...tensor,
    floatData: [],
    int32Data: [],
    stringData: [],
    int64Data: [],
    doubleData: [],
    uint64Data: [],
    dataLocation: DataLocation.EXTERNAL,
    externalData: [
      { key: "location", value: location },
      { key: "offset", value: String(offset) },
      { key: "length", value: String(length) },
    ],
  };
  delete copy.rawData;
  return copy;
}

function inlineTensor(tensor: TensorProto, rawData: Uint8Array): TensorProto {
  const copy: TensorProto = { ...tensor, rawData, externalData: [] };
  delete copy.dataLocation;
  return copy;
}

function copyFromSource(source: ExternalSource, tensorName: string, fd: number, position: number, buffer: Uint8Array): void {
  const input = openExternalSource(source, tensorName);
  try {
    for (let done = 0; done < source.length; ) {
      const n = Math.min(buffer.byteLength, source.length - done);
      readFully(input, buffer, 0, n, source.offset + done);
      writeAll(fd, buffer.subarray(0, n), position + done);
      done += n;
    }
  } finally {
    closeSync(input);
  }
}

/**
 * Writes `model` to `path` (and, with `externalData`, its data file next to
 * it). Each file is written to a temporary file in the same directory,
 * fsynced and renamed into place, the data file first, so a crash never
 * leaves a half-written file under either name. The model object is not
 * changed.
 */
export async function writeModel(path: string, model: ModelProto, options: WriteModelOptions = {}): Promise<WriteModelResult> {
  const ext = options.externalData === true ? {} : options.externalData === false ? undefined : options.externalData;
  const location = ext?.location ?? `${basename(path)}.data`;
  const threshold = ext?.threshold ?? 1024;
  const align = ext?.align ?? 4096;
  if (ext) {
    const problem = checkLocationSyntax(location);
    if (problem || /[\\/]/.test(location)) {
      throw new ConfigurationError(`external data location ${problem ?? `"${location}"`} is not allowed; give a file name without directories`);
    }
    if (!Number.isInteger(align) || align < 1 || (align & (align - 1)) !== 0) throw new RangeError(`align must be a power of two, got ${align}`);
  }

  // Decide, per tensor, what goes where. Shared tensor objects are handled once.
  const replacements = new Map<TensorProto, TensorProto>();
  const toExternal: TensorProto[] = [];
  const seen = new Set<TensorProto>();
  forEachTensor(model, (tensor) => {
    if (seen.has(tensor)) return;
    seen.add(tensor);
    if (tensor.dataLocation === DataLocation.EXTERNAL) {
      const source = externalSourceOf(tensor);
      if (!source) {
        throw new ModelEncodeError(
          `tensor "${tensor.name ?? ""}" refers to external data that was never checked; read the model with readModel()`,
        );
      }
      if (ext) toExternal.push(tensor);
      else replacements.set(tensor, inlineTensor(tensor, readExternalSource(source, tensor.name ?? "")));
      return;
    }
    if (!ext) return;
    const bytes = rawByteLength(tensor.dataType ?? 0, tensorElementCount(tensor));
    if (bytes !== undefined && bytes >= BigInt(threshold)) toExternal.push(tensor);
  });

  const dataPath = join(dirname(path), location);
  const dataTemp = ext ? tempPathFor(dataPath) : undefined;
  const modelTemp = tempPathFor(path);
  let dataBytes = 0;
  try {
    if (ext && dataTemp) {
      const fd = openSync(dataTemp, "wx", 0o644);
      try {
        const buffer = new Uint8Array(Math.min(COPY_CHUNK, 1 << 24));
        let position = 0;
        for (const tensor of toExternal) {
          position = Math.ceil(position / align) * align;
          const source = externalSourceOf(tensor);
          let length: number;
          if (tensor.dataLocation === DataLocation.EXTERNAL && source) {
            copyFromSource(source, tensor.name ?? "", fd, position, buffer);
            length = source.length;
          } else {
            const bytes = tensorRawBytes(tensor);
            writeAll(fd, bytes, position);
            length = bytes.byteLength;
          }
          replacements.set(tensor, externalTensor(tensor, location, position, length));
          position += length;
          options.onTensorWritten?.(replacements.size, toExternal.length, tensor.name ?? "");
        }
        fsyncSync(fd);
        dataBytes = fstatSync(fd).size;
      } finally {
        closeSync(fd);
      }
    }
    const bytes = encodeModelWith(model, (t) => replacements.get(t) ?? t);
    const handle = await open(modelTemp, "wx", 0o644);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (dataTemp) await rename(dataTemp, dataPath);
    await rename(modelTemp, path);
    fsyncDirectory(dirname(path));
    const result: WriteModelResult = {
      modelPath: path,
      modelBytes: bytes.byteLength,
      dataBytes,
      externalTensors: toExternal.length,
    };
    return ext ? { ...result, dataPath } : result;
  } catch (error) {
    await Promise.all([dataTemp ? unlink(dataTemp).catch(() => {}) : undefined, unlink(modelTemp).catch(() => {})]);
    throw error;
  }
}
