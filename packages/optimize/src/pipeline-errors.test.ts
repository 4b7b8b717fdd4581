import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigurationError } from "@slmops/diagnostics";
import { DataType, encodeModel, writeModel } from "@slmops/onnx";
import { createSession } from "@slmops/runtime";
import { loadModel } from "./model-io.js";
import { optimizeModel } from "./pipeline.js";
import { matmul, singleMatMul } from "./test-support/models.js";
import { weightLike } from "./test-support/random.js";

let dir: string;
let source: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-optimize-errors-"));
  source = join(dir, "model.onnx");
  await writeFile(source, encodeModel(singleMatMul(weightLike(64 * 16, 1), 64, 16)));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configurationError(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigurationError");
}

describe("optimizeModel refuses bad input clearly", () => {
  it("validates every pass before doing any work", async () => {
    const outDir = join(dir, "never");
    const message = await configurationError(
      optimizeModel({ source, outDir, passes: [{ quantize: { weights: "int4" } }, { prune: { sparsity: 2 } }] }),
    );
    expect(message).toMatch(/^passes\[1\]\.prune\.sparsity/);
    await expect(readdir(outDir)).rejects.toThrow();
  });

  it("refuses an empty pass list", async () => {
    expect(await configurationError(optimizeModel({ source, outDir: join(dir, "x"), passes: [] }))).toMatch(/at least one pass/);
  });

  it("refuses a truncated model file", async () => {
    const bad = join(dir, "truncated.onnx");
    const bytes = encodeModel(singleMatMul(weightLike(64 * 16, 1), 64, 16));
    await writeFile(bad, bytes.subarray(0, bytes.length - 100));
    const message = await configurationError(optimizeModel({ source: bad, outDir: join(dir, "t"), passes: [{ quantize: { weights: "int8" } }] }));
    expect(message).toMatch(/truncated\.onnx is not a valid ONNX model/);
  });

  it("refuses a pass that does not fit the model (quantizing twice; dynamic int8 after fp16)", async () => {
    expect(
      await configurationError(
        optimizeModel({ source, outDir: join(dir, "twice"), passes: [{ quantize: { weights: "int4" } }, { quantize: { weights: "int4" } }] }),
      ),
    ).toMatch(/no MatMul with a constant 2-D float weight/);
    expect(
      await configurationError(
        optimizeModel({ source, outDir: join(dir, "order"), passes: [{ convert: { to: "fp16" } }, { quantize: { weights: "int8", activations: "dynamic" } }] }),
      ),
    ).toMatch(/put the quantize pass before convert/);
    expect(
      await configurationError(
        optimizeModel({ source, outDir: join(dir, "order2"), passes: [{ quantize: { weights: "int8", activations: "dynamic" } }, { convert: { to: "fp16" } }] }),
      ),
    ).toMatch(/after int8 quantization is not supported/);
  });

  it("refuses a file name that is not a plain name", async () => {
    expect(
      await configurationError(optimizeModel({ source, outDir: dir, fileName: "../escape.onnx", passes: [{ quantize: { weights: "int8" } }] })),
    ).toMatch(/plain file name/);
  });
});

describe("external data", () => {
  it("reads a source with external data and writes the variant the same way, both files hashed", async () => {
    const sub = join(dir, "external");
    await mkdir(sub, { recursive: true });
    const external = join(sub, "model.onnx");
    const w = weightLike(256 * 64, 3);
    await writeModel(external, singleMatMul(w, 256, 64), { externalData: { threshold: 1024 } });
    const record = await optimizeModel({ source: external, outDir: join(dir, "external-out"), passes: [{ prune: { sparsity: 0.5 } }, { quantize: { weights: "int4" } }] });
    expect(record.source.files.map((f) => f.name)).toEqual(["model.onnx", "model.onnx.data"]);
    expect(record.output.files.map((f) => f.name)).toEqual(["model.onnx", "model.onnx.data"]);
    expect(record.output.bytes).toBe(record.output.files[0]!.bytes + record.output.files[1]!.bytes);
    for (const f of record.output.files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    const session = await createSession(record.output.path);
    try {
      const a = weightLike(2 * 256, 8, 1);
      const out = await session.run({ A: { type: "float32", dims: [2, 256], data: a } });
      expect(out.Y!.dims).toEqual([2, 64]);
    } finally {
      await session.release();
    }
  });

  it("refuses external data that points outside the model's directory", async () => {
    const sub = join(dir, "escape");
    await mkdir(sub, { recursive: true });
    const model = singleMatMul(weightLike(64 * 16, 1), 64, 16);
    const w = model.graph!.initializer[0]!;
    delete w.rawData;
    w.dataLocation = 1;
    w.externalData = [
      { key: "location", value: "../outside.bin" },
      { key: "offset", value: "0" },
      { key: "length", value: String(64 * 16 * 4) },
    ];
    await writeFile(join(dir, "outside.bin"), new Uint8Array(64 * 16 * 4));
    await writeFile(join(sub, "model.onnx"), encodeModel(model));
    const message = await configurationError(optimizeModel({ source: join(sub, "model.onnx"), outDir: join(dir, "e"), passes: [{ quantize: { weights: "int8" } }] }));
    expect(message).toMatch(/\.\./);
  });
});

describe("pass combinations on a hand-built model", () => {
  it("fp16 then int4 gives an fp16 MatMulNBits that ONNX Runtime runs", async () => {
    const record = await optimizeModel({
      source,
      outDir: join(dir, "fp16-int4"),
      passes: [{ convert: { to: "fp16" } }, { quantize: { weights: "int4", "block-size": 16 } }],
    });
    const model = await loadModel(record.output.path);
    const g = model.graph!;
    expect(g.input[0]!.type!.tensorType!.elemType).toBe(DataType.FLOAT); // keep-io-types by default
    const scales = g.initializer.find((t) => t.name!.endsWith("_scales"))!;
    expect(scales.dataType).toBe(DataType.FLOAT16);
    const session = await createSession(record.output.path);
    try {
      const a = weightLike(3 * 64, 4, 1);
      const out = await session.run({ A: { type: "float32", dims: [3, 64], data: a } });
      const expected = matmul(a, weightLike(64 * 16, 1), 3, 64, 16);
      const y = out.Y!.data as Float32Array;
      const rms = Math.sqrt(expected.reduce((acc, v) => acc + v * v, 0) / expected.length);
      for (let i = 0; i < expected.length; i++) expect(Math.abs(y[i]! - expected[i]!)).toBeLessThan(0.3 * rms);
    } finally {
      await session.release();
    }
  });

  it("fp16 without keep-io-types changes the model's float inputs and outputs to fp16", async () => {
    const record = await optimizeModel({ source, outDir: join(dir, "fp16-io"), passes: [{ convert: { to: "fp16", "keep-io-types": false } }] });
    const model = await loadModel(record.output.path);
    const g = model.graph!;
    expect(g.input[0]!.type!.tensorType!.elemType).toBe(DataType.FLOAT16);
    expect(g.output[0]!.type!.tensorType!.elemType).toBe(DataType.FLOAT16);
    expect(g.node.map((n) => n.opType)).toEqual(["MatMul"]);
    const session = await createSession(record.output.path);
    expect(session.inputs[0]!.type).toBe("float16");
    await session.release();
  });

  it("graph-optimize at a machine-specific level runs when allowed", async () => {
    const record = await optimizeModel({
      source,
      outDir: join(dir, "all"),
      passes: [{ "graph-optimize": { level: "all", "allow-machine-specific": true } }],
    });
    expect(record.output.bytes).toBeGreaterThan(0);
  });
});
