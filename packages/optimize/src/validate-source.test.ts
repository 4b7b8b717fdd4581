import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigurationError, describeError } from "@slmops/diagnostics";
import { PRESETS, makeModel as makeDecoder, type PresetName } from "@slmops/model-maker";
import {
  DataType,
  encodeModel,
  float32ToFloat16,
  makeGraph,
  makeModel,
  makeNode,
  makeTensorFromBytes,
  makeValueInfo,
  writeModel,
  type ModelProto,
} from "@slmops/onnx";
import { optimizeGraph } from "./graph-optimize-pass.js";
import { loadModel } from "./model-io.js";
import { normalizePass } from "./pass-options.js";
import { optimizeModel } from "./pipeline.js";
import { singleMatMul } from "./test-support/models.js";
import { weightLike } from "./test-support/random.js";
import { validateSourceModel } from "./validate-source.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-validate-source-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;

/** Writes `model` as a source, runs optimizeModel on it and returns the refusal's message; nothing may be written. */
async function refused(model: ModelProto | Uint8Array, options: { kind?: "decoder" | "encoder" | "generic" } = {}): Promise<string> {
  const sub = join(dir, `case-${counter++}`);
  await mkdir(sub);
  const source = join(sub, "model.onnx");
  await writeFile(source, model instanceof Uint8Array ? model : encodeModel(model));
  const outDir = join(sub, "out");
  const error = await optimizeModel({ source, outDir, passes: [{ convert: { to: "fp16" } }], ...options }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigurationError);
  const message = (error as Error).message;
  // A user's problem: its message alone, no stack trace.
  expect(describeError(error)).toBe(message);
  expect(message).toContain(`${source} is not a valid ONNX model: `);
  await expect(readdir(outDir)).rejects.toThrow(/ENOENT/);
  return message;
}

const K = 8;
const N = 4;
const good = (): ModelProto => singleMatMul(weightLike(K * N, 1), K, N);

function withWeight(bytes: Uint8Array, dataType: DataType = DataType.FLOAT): ModelProto {
  const model = good();
  model.graph!.initializer[0] = makeTensorFromBytes("W", dataType, [K, N], bytes);
  return model;
}

describe("optimizeModel validates the source model before any pass", () => {
  it("refuses a graph with a cycle, naming the nodes", async () => {
    const model = makeModel({
      graph: makeGraph(
        [makeNode("Add", ["A", "c"], ["b"], {}, { name: "first" }), makeNode("Relu", ["b"], ["c"], {}, { name: "second" })],
        "cycle",
        [makeValueInfo("A", DataType.FLOAT, [2])],
        [makeValueInfo("c", DataType.FLOAT, [2])],
      ),
      opsetImports: [{ domain: "", version: 17 }],
    });
    expect(await refused(model)).toMatch(/has a cycle: node "first" \(Add\), node "second" \(Relu\) depend on each other's outputs; an ONNX graph must be acyclic/);
  });

  it("refuses raw_data shorter than dims × element size, naming the tensor", async () => {
    const model = good();
    model.graph!.initializer[0]!.rawData = model.graph!.initializer[0]!.rawData!.subarray(0, 20);
    expect(await refused(model)).toMatch(/tensor "W" declares shape \[8, 4\] of FLOAT \(128 bytes\) but its raw_data holds 20 bytes; the tensor's data must be dims × element size/);
  });

  it("refuses an operator ONNX Runtime does not know", async () => {
    const model = good();
    model.graph!.node[0]!.opType = "MatMulz";
    expect(await refused(model)).toMatch(/ONNX Runtime cannot load it: .*MatMulz.*; check that every operator exists in its declared opset version/);
  });

  it("refuses a node in a domain the model does not import", async () => {
    const model = good();
    model.graph!.node[0]!.domain = "com.example";
    expect(await refused(model)).toMatch(/node "matmul" \(com\.example\.MatMul\) uses operator domain "com\.example", which the model does not import; add an opset_import/);
  });

  it("refuses a node input nothing produces", async () => {
    const model = good();
    model.graph!.node[0]!.input[1] = "W_typo";
    expect(await refused(model)).toMatch(/node "matmul" \(MatMul\) in graph "single-matmul" reads "W_typo", which no graph input, initializer or node produces/);
  });

  it("refuses a model that is not a decoder under kind: decoder", async () => {
    expect(await refused(good(), { kind: "decoder" })).toMatch(/declared `kind: decoder` but lacks the Optimum decoder inputs .*declare its `kind` as `encoder` or `generic`/);
  });

  it("refuses NaN and ±Inf weights, naming the tensor and the element", async () => {
    const w = weightLike(K * N, 1);
    w[5] = Number.NaN;
    expect(await refused(withWeight(new Uint8Array(w.buffer)))).toMatch(/tensor "W" \(FLOAT \[8, 4\]\) holds NaN at element 5; weights must be finite/);
    w[5] = 0;
    w[31] = Number.NEGATIVE_INFINITY;
    expect(await refused(withWeight(new Uint8Array(w.buffer)))).toMatch(/tensor "W" \(FLOAT \[8, 4\]\) holds -Infinity at element 31/);
    const half = Uint16Array.from(weightLike(K * N, 2), float32ToFloat16);
    half[3] = 0x7c00; // +Inf in float16
    expect(await refused(withWeight(new Uint8Array(half.buffer), DataType.FLOAT16))).toMatch(/tensor "W" \(FLOAT16 \[8, 4\]\) holds Infinity at element 3/);
  });

  it("finds NaN in a weight kept in external data (read tensor by tensor)", async () => {
    const sub = join(dir, "external-nan");
    await mkdir(sub);
    const w = weightLike(256 * 64, 3);
    w[1000] = Number.NaN;
    const source = join(sub, "model.onnx");
    await writeModel(source, singleMatMul(w, 256, 64), { externalData: { threshold: 1024 } });
    const error = await optimizeModel({ source, outDir: join(sub, "out"), passes: [{ quantize: { weights: "int8" } }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/tensor "W" \(FLOAT \[256, 64\]\) holds NaN at element 1000/);
  });

  it("refuses a 0-byte model and a model without a graph", async () => {
    expect(await refused(new Uint8Array(0))).toMatch(/the file is empty \(0 bytes\)/);
    const graphless = good();
    delete graphless.graph;
    expect(await refused(graphless)).toMatch(/it has no graph/);
  });

  it("refuses a file of ten million empty nodes before decoding it", async () => {
    const count = 10_000_000;
    const header = [0x3a, 0x80, 0xda, 0xc4, 0x09]; // ModelProto.graph, length 20 000 000 (varint)
    const bytes = new Uint8Array(header.length + 2 * count);
    bytes.set(header);
    for (let i = header.length; i < bytes.length; i += 2) bytes[i] = 0x0a; // GraphProto.node, length 0
    const before = process.memoryUsage().rss;
    expect(await refused(bytes)).toMatch(/it has more than 1000000 nodes, the limit/);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
  });

  it("accepts the maker's decoders under kind: decoder and builds their variants", async () => {
    for (const preset of ["nano", "tiny", "small"] as PresetName[]) {
      const model = makeDecoder(PRESETS[preset]);
      await validateSourceModel(model, `${preset}.onnx`, { kind: "decoder" });
    }
    const sub = join(dir, "maker");
    await mkdir(sub);
    const source = join(sub, "model.onnx");
    await writeModel(source, makeDecoder(PRESETS.nano), { externalData: { threshold: 1024 } });
    const record = await optimizeModel({ source, outDir: join(sub, "out"), kind: "decoder", passes: [{ quantize: { weights: "int4" } }] });
    expect(record.output.files.length).toBeGreaterThan(0);
  });
});

describe("graph-optimize", () => {
  it("reports a model ONNX Runtime cannot load as the model's problem, without the scratch file's path", async () => {
    const model = good();
    model.graph!.node[0]!.opType = "MatMulz";
    const pass = normalizePass({ "graph-optimize": { level: "basic" } }, "passes[0]");
    if (pass.name !== "graph-optimize") throw new Error("expected a graph-optimize pass");
    const error = await optimizeGraph(model, pass).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toMatch(/^graph-optimize: the model given to this pass is not a valid ONNX model: ONNX Runtime cannot load it: .*MatMulz/);
    expect(message).not.toMatch(/slmops-graph-optimize-|input\.onnx/);
    expect(describeError(error)).toBe(message);
  });

  it("still optimizes a valid source", async () => {
    const sub = join(dir, "graph-ok");
    await mkdir(sub);
    await writeFile(join(sub, "model.onnx"), encodeModel(good()));
    const record = await optimizeModel({ source: join(sub, "model.onnx"), outDir: join(sub, "out"), passes: [{ "graph-optimize": { level: "basic" } }] });
    expect((await loadModel(record.output.path)).graph!.node.length).toBeGreaterThan(0);
  });
});

