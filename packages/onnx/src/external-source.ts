/**
 * Where the bytes of a lazily read external tensor live: a validated region
 * of a validated file. `readModel(..., { externalData: "lazy" })` records one
 * per tensor; `tensorRawBytes` and `writeModel` read through it.
 */
import { closeSync, fstatSync, openSync, readSync, constants } from "node:fs";
import { ConfigurationError } from "@slmops/diagnostics";
import type { TensorProto } from "./proto.js";

export interface ExternalSource {
  /** Absolute path of the data file, checked when the model was read. */
  readonly path: string;
  /** How the model names the file (for messages). */
  readonly location: string;
  readonly offset: number;
  readonly length: number;
  /** Identity of the file when it was checked; a replaced file is refused. */
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
}

const sources = new WeakMap<TensorProto, ExternalSource>();

export function setExternalSource(tensor: TensorProto, source: ExternalSource): void {
  sources.set(tensor, source);
}

/** The validated source of a lazily read external tensor, if it has one. */
export function externalSourceOf(tensor: TensorProto): ExternalSource | undefined {
  return sources.get(tensor);
}

/** Opens the source file without following a final symlink and checks it is the file validated earlier. */
export function openExternalSource(source: ExternalSource, tensorName: string): number {
  const fd = openSync(source.path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  const st = fstatSync(fd);
  if (!st.isFile() || st.dev !== source.dev || st.ino !== source.ino || st.size !== source.size) {
    closeSync(fd);
    throw new ConfigurationError(
      `external data file ${source.location} of tensor "${tensorName}" changed after the model was read; read the model again`,
    );
  }
  return fd;
}

/** Reads `length` bytes at `position` from fd completely, into `target` at `targetOffset`. */
export function readFully(fd: number, target: Uint8Array, targetOffset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, target, targetOffset + done, Math.min(length - done, 1 << 30), position + done);
    if (n === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

/** Reads the tensor's bytes from its validated external source. */
export function readExternalSource(source: ExternalSource, tensorName: string): Uint8Array {
  const out = new Uint8Array(source.length);
  const fd = openExternalSource(source, tensorName);
  try {
    readFully(fd, out, 0, source.length, source.offset);
  } finally {
    closeSync(fd);
  }
  return out;
}
