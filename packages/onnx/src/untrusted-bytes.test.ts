import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";
import { describe, expect, it } from "vitest";
import { InvalidModelError, decodeModel, encodeModel, readModel, tensorToArray, type DecodeLimits } from "./index.js";
import { mlpModel, tempDir } from "./test-support/models.js";

// A few protobuf wire-format primitives, to craft files by hand.
function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const tag = (field: number, wire: number): number[] => varint(field * 8 + wire);
const ld = (field: number, body: number[] | Uint8Array): number[] => [...tag(field, 2), ...varint(body.length), ...body];
const bytes = (...parts: number[][]): Uint8Array => new Uint8Array(parts.flat());

// ModelProto.graph = 7, GraphProto.node = 1, NodeProto.attribute = 5, AttributeProto.g = 6.
// Built from the inside out as headers only (each level is the last thing in its parent).
function nestedGraphs(depth: number): Uint8Array {
  const headers: number[][] = [];
  let graphLength = 0;
  for (let i = 0; i < depth; i++) {
    const attribute = [...tag(6, 2), ...varint(graphLength)];
    const attributeLength = attribute.length + graphLength;
    const node = [...tag(5, 2), ...varint(attributeLength)];
    const nodeLength = node.length + attributeLength;
    const graph = [...tag(1, 2), ...varint(nodeLength)];
    headers.push([...graph, ...node, ...attribute]);
    graphLength = graph.length + nodeLength;
  }
  headers.reverse();
  return bytes(tag(1, 0), varint(10), tag(7, 2), varint(graphLength), ...headers);
}

function rejects(input: Uint8Array, pattern: RegExp, limits?: DecodeLimits): void {
  let error: unknown;
  try {
    decodeModel(input, { name: "model.onnx", limits });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(InvalidModelError);
  expect(error).toBeInstanceOf(ConfigurationError);
  expect((error as Error).message).toMatch(/^model\.onnx is not a valid ONNX model: /);
  expect((error as Error).message).toMatch(pattern);
}

/** Decoding either works or fails with InvalidModelError; anything else is a bug. */
function decodesOrRefuses(input: Uint8Array): "ok" | "refused" {
  try {
    decodeModel(input);
    return "ok";
  } catch (error) {
    if (error instanceof InvalidModelError) return "refused";
    throw error;
  }
}

describe("decoding untrusted bytes", () => {
  const valid = encodeModel(mlpModel(8, 4, 2));

  it("refuses truncated models at every cut point inside a field", () => {
    const outcomes = { ok: 0, refused: 0 };
    for (let cut = 1; cut < valid.length; cut++) outcomes[decodesOrRefuses(valid.subarray(0, cut))]++;
    // The model ends with small fields, so a few prefixes are complete messages; nearly all are not.
    expect(outcomes.refused).toBeGreaterThan(valid.length * 0.9);
    rejects(valid.subarray(0, valid.length - 5), /truncated|declares \d+ bytes but only \d+ remain/);
  });

  it("refuses known fields with the wrong wire type", () => {
    // ModelProto.graph (7) as a varint.
    rejects(bytes(tag(7, 0), varint(1)), /field ModelProto\.graph has wire type varint, the schema says length-delimited/);
    // ModelProto.ir_version (1) as a length-delimited blob.
    rejects(bytes(ld(1, [1, 2, 3])), /field ModelProto\.irVersion has wire type length-delimited/);
    // TensorProto.data_type (2) as fixed32, inside graph.initializer (5).
    rejects(bytes(ld(7, ld(5, [...tag(2, 5), 1, 0, 0, 0]))), /TensorProto\.dataType has wire type fixed32/);
  });

  it("refuses groups and invalid wire types", () => {
    rejects(bytes(tag(99, 3), tag(99, 4)), /wire type start-group, which ONNX never uses/);
    rejects(bytes(tag(5, 7)), /wire type 7/);
    rejects(bytes([0]), /invalid field number 0/);
  });

  it("refuses absurd declared sizes without allocating them", () => {
    rejects(bytes(tag(7, 2), varint(2n ** 40n)), /declares 1099511627776 bytes but only 0 remain/);
    rejects(bytes(tag(6, 2), varint(2n ** 62n), [65, 66]), /declares \d+ bytes but only 2 remain/);
    rejects(bytes(tag(1, 0), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), /varint longer than 10 bytes/);
  });

  it("refuses deeply nested graphs without exhausting the stack", () => {
    expect(decodeModel(nestedGraphs(20)).graph!.node[0]!.attribute[0]!.g).toBeDefined();
    rejects(nestedGraphs(40), /graphs nested more than 32 deep/);
    rejects(nestedGraphs(20_000), /graphs nested more than 32 deep/);
    rejects(nestedGraphs(10), /graphs nested more than 4 deep/, { maxGraphDepth: 4 });
  });

  it("refuses huge repeated fields before decoding them", () => {
    // 100 000 empty nodes in one graph.
    const nodes = new Array(100_000).fill([10, 0]).flat(); // tag(1, length-delimited), length 0
    rejects(bytes(ld(7, nodes)), /more than 50000 protobuf messages/, { maxMessages: 50_000 });
    // A packed int64 run of a million one-byte values in TensorProto.int64_data (7).
    const n = 1_000_000;
    const int64Data = [...tag(7, 2), ...varint(n)];
    const initializer = [...tag(5, 2), ...varint(int64Data.length + n), ...int64Data];
    const graph = [...tag(7, 2), ...varint(initializer.length + n), ...initializer];
    const packedRun = new Uint8Array(graph.length + n).fill(1);
    packedRun.set(graph);
    rejects(packedRun, /more than 1000 repeated 64-bit integers/, { maxInt64Elements: 1000 });
    // A packed float run whose length is not a multiple of 4.
    rejects(bytes(ld(7, ld(5, ld(4, [0, 0, 0, 0, 0])))), /packed length 5 is not a multiple of 4/);
    rejects(valid, /it is \d+ bytes, more than the 16-byte limit/, { maxBytes: 16 });
  });

  it("refuses int64 values beyond the exact range where ONNX means a count", () => {
    rejects(bytes(tag(1, 0), varint(2n ** 60n)), /ModelProto\.irVersion holds 1152921504606846976/);
  });

  it("survives random bytes and bit flips of a valid model", () => {
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed;
    };
    const outcomes = { ok: 0, refused: 0 };
    for (let i = 0; i < 2000; i++) {
      const input = new Uint8Array(1 + (rand() % 64)).map(() => rand() & 0xff);
      outcomes[decodesOrRefuses(input)]++;
    }
    for (let i = 0; i < 2000; i++) {
      const input = valid.slice();
      input[rand() % input.length]! ^= 1 << (rand() % 8);
      outcomes[decodesOrRefuses(input)]++;
    }
    expect(outcomes.ok + outcomes.refused).toBe(4000);
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  it("reports a tensor whose declared shape does not match its data when it is read", () => {
    const model = decodeModel(encodeModel(mlpModel()));
    const w1 = model.graph!.initializer[0]!;
    w1.dims = [2 ** 40, 2 ** 40];
    expect(() => tensorToArray(w1)).toThrow(/tensor "w1" declares shape \[1099511627776, 1099511627776\] of FLOAT \(\d+ bytes\) but its raw_data holds 8192 bytes/);
  });

  it("readModel names the file and refuses non-models with a ConfigurationError", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeFile(join(dir, "notes.onnx"), "this is not a model\n");
      await expect(readModel(join(dir, "notes.onnx"))).rejects.toThrow(/notes\.onnx is not a valid ONNX model: /);
      await expect(readModel(join(dir, "missing.onnx"))).rejects.toThrow(/missing\.onnx does not exist/);
      await expect(readModel(dir)).rejects.toThrow(/is a directory/);
      await writeFile(join(dir, "big.onnx"), encodeModel(mlpModel()));
      await expect(readModel(join(dir, "big.onnx"), { limits: { maxBytes: 100 } })).rejects.toThrow(/more than the 100-byte limit/);
    } finally {
      await cleanup();
    }
  });
});
