/**
 * Model files made to exhaust memory or hang the reader: every one is
 * refused by readModel with an InvalidModelError (a ConfigurationError)
 * naming the file and what is wrong, before it is decoded.
 */
import { execFileSync } from "node:child_process";
import { open, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidModelError, decodeModel, encodeModel, readModel, type DecodeLimits } from "./index.js";
import { mlpModel, tempDir } from "./test-support/models.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("slmops-onnx-hostile-"));
});
afterAll(async () => cleanup());

const MiB = 1024 * 1024;

/** `count` copies of a two-byte empty field `tagByte` inside ModelProto.graph (7): the smallest repeated message. */
function emptyMessagesInGraph(tagByte: number, count: number): Uint8Array {
  const body = 2 * count;
  const header = [0x3a];
  for (let v = body; ; v = Math.floor(v / 128)) {
    if (v < 128) {
      header.push(v);
      break;
    }
    header.push((v % 128) | 0x80);
  }
  const bytes = new Uint8Array(header.length + body);
  bytes.set(header);
  for (let i = header.length; i < bytes.length; i += 2) bytes[i] = tagByte;
  return bytes;
}

async function refusedFile(path: string, options: { limits?: DecodeLimits } = {}): Promise<string> {
  const error = await readModel(path, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigurationError);
  return (error as Error).message;
}

function refusedBytes(bytes: Uint8Array, limits?: DecodeLimits): string {
  try {
    decodeModel(bytes, { name: "m.onnx", limits });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidModelError);
    return (error as Error).message;
  }
  throw new Error("expected the model to be refused");
}

describe("readModel bounds what a model file can make it allocate", () => {
  // First in the file: the worker's peak resident set is still the baseline.
  it("refuses a 20 MB file of ten million empty nodes, its memory growth under 128 MiB", async () => {
    const path = join(dir, "nodes.onnx");
    await writeFile(path, emptyMessagesInGraph(0x0a, 10_000_000)); // GraphProto.node (1)
    const before = process.memoryUsage().rss;
    const message = await refusedFile(path);
    const growth = process.resourceUsage().maxRSS * 1024 - before;
    expect(message).toMatch(/nodes\.onnx is not a valid ONNX model: it has more than 1000000 nodes, the limit/);
    expect(message).toMatch(/export the model again/);
    // Decoded, those nodes take about 5 GB; the pre-scan allocates nothing per field.
    expect(growth).toBeLessThan(128 * MiB);
  });

  it("counts each repeated kind on its own, at the defaults", () => {
    // 600 000 empty initializers (GraphProto.initializer = 5), over the 500 000 tensor limit.
    expect(refusedBytes(emptyMessagesInGraph(0x2a, 600_000))).toMatch(/more than 500000 tensors/);
    // 1.1 million empty value_info entries (GraphProto.value_info = 13).
    expect(refusedBytes(emptyMessagesInGraph(0x6a, 1_100_000))).toMatch(/more than 1000000 value infos/);
    // 2.1 million empty messages of different kinds still meet the overall limit.
    expect(refusedBytes(mixed())).toMatch(/more than 2000000 protobuf messages/);
  });

  it("bounds attributes, dimensions, opset imports, strings and unknown fields", () => {
    const node = (body: number[]): number[] => [0x3a, body.length + 2, 0x0a, body.length, ...body]; // graph { node { … } }
    // NodeProto.attribute (5) × 3.
    expect(refusedBytes(new Uint8Array(node([0x2a, 0, 0x2a, 0, 0x2a, 0])), { maxAttributes: 2 })).toMatch(/more than 2 attributes/);
    // NodeProto.input (1) × 3: repeated strings.
    expect(refusedBytes(new Uint8Array(node([0x0a, 0, 0x0a, 0, 0x0a, 0])), { maxStrings: 2 })).toMatch(/more than 2 strings/);
    // ModelProto.opset_import (8) × 3.
    expect(refusedBytes(new Uint8Array([0x42, 0, 0x42, 0, 0x42, 0]), { maxOpsetImports: 2 })).toMatch(/more than 2 opset imports/);
    // Field 99 (unknown to ONNX) × 3.
    expect(refusedBytes(new Uint8Array([0x98, 0x06, 0, 0x98, 0x06, 0, 0x98, 0x06, 0]), { maxUnknownFields: 2 })).toMatch(
      /more than 2 fields the ONNX schema does not know/,
    );
    // A tensor (initializer = 5) whose packed dims (1) hold 300 entries: more than the 256 rank limit.
    const dims = new Array<number>(300).fill(1);
    const tensor = [0x0a, 0xac, 0x02, ...dims]; // 300 = 0xac 0x02
    const graph = [0x2a, 0xaf, 0x02, ...tensor]; // 303
    expect(refusedBytes(new Uint8Array([0x3a, 0xb2, 0x02, ...graph]))).toMatch(/more than 256 dimensions in one TensorProto/);
    // A 200-byte doc string against a 100-byte limit (ModelProto.doc_string = 6).
    expect(refusedBytes(new Uint8Array([0x32, 200, 1, ...new Array<number>(200).fill(0x61)]), { maxStringBytes: 100 })).toMatch(
      /field ModelProto\.docString is a 200-byte string, more than the 100-byte limit/,
    );
  });

  it("still reads real models at the defaults", () => {
    const model = mlpModel();
    expect(decodeModel(encodeModel(model))).toEqual(model);
  });

  it("refuses a 0-byte model file", async () => {
    const path = join(dir, "empty.onnx");
    await writeFile(path, new Uint8Array(0));
    expect(await refusedFile(path)).toMatch(/empty\.onnx is not a valid ONNX model: the file is empty \(0 bytes\).*export or download the model again/);
  });

  it("refuses a FIFO in place of the model without waiting for a writer", async () => {
    const path = join(dir, "fifo.onnx");
    execFileSync("mkfifo", [path]);
    expect(await refusedFile(path)).toMatch(/fifo\.onnx is not a regular file \(a named pipe\)/);
  });

  it("refuses a 2 GiB sparse file by its size, before reading it", async () => {
    const path = join(dir, "sparse.onnx");
    const handle = await open(path, "w");
    await handle.truncate(2 ** 31);
    await handle.close();
    const before = process.memoryUsage().rss;
    expect(await refusedFile(path)).toMatch(/sparse\.onnx is not a valid ONNX model: it is 2147483648 bytes, more than the 2147483647-byte limit/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * MiB);
  });

  it("refuses a 2 GB sparse file of zeros by its first bytes, without reading it whole", async () => {
    const path = join(dir, "zeros.onnx");
    const handle = await open(path, "w");
    await handle.truncate(2_000_000_000);
    await handle.close();
    const before = process.memoryUsage().rss;
    expect(await refusedFile(path)).toMatch(/zeros\.onnx is not a valid ONNX model: invalid field number 0 \(at byte 0\)/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * MiB);
  });

  it("reads a model larger than the checked prefix unchanged", async () => {
    const model = mlpModel(1024, 256, 8); // 1 MiB of weights, inline
    const path = join(dir, "large.onnx");
    await writeFile(path, encodeModel(model));
    expect(await readModel(path)).toEqual(model);
  });

  it("refuses a length field that declares more bytes than the file holds", async () => {
    const path = join(dir, "length.onnx");
    // ModelProto.graph declaring 2^40 bytes, followed by nothing.
    await writeFile(path, new Uint8Array([0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]));
    expect(await refusedFile(path)).toMatch(/field ModelProto\.graph declares 1099511627776 bytes but only 0 remain/);
  });
});

/** 700 000 each of empty nodes, value infos and sparse initializers, interleaved: 2.1 million messages, no kind over its own limit. */
function mixed(): Uint8Array {
  const kinds = [0x0a, 0x6a, 0x7a]; // node (1), value_info (13), sparse_initializer (15)
  const count = 700_000 * kinds.length;
  const one = emptyMessagesInGraph(0x0a, count);
  const start = one.length - 2 * count;
  for (let i = 0; i < count; i++) one[start + 2 * i] = kinds[i % kinds.length]!;
  return one;
}
