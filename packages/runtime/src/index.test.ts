import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigurationError, describeError } from "@slmops/diagnostics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelLoadError, RuntimeError, availableExecutionProviders, createSession, runtimeInfo, tensor } from "./index.js";
import { addBiasModel } from "./test-support/tiny-onnx.js";

let dir: string;
let modelPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-runtime-"));
  modelPath = join(dir, "add-bias.onnx");
  await writeFile(modelPath, addBiasModel([1, 2, 3]));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("runtimeInfo", () => {
  it("reports the ONNX Runtime version and offers the CPU provider", () => {
    const info = runtimeInfo();
    expect(info.onnxruntimeVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.executionProviders).toContain("cpu");
    expect(availableExecutionProviders()).toEqual(info.executionProviders);
  });
});

describe("createSession", () => {
  it("describes the model's inputs and outputs, symbolic dimensions as names", async () => {
    const session = await createSession(modelPath);
    try {
      expect(session.inputNames).toEqual(["x", "ids"]);
      expect(session.outputNames).toEqual(["y", "ids_shape"]);
      expect(session.inputs).toEqual([
        { name: "x", type: "float32", shape: ["batch", 3] },
        { name: "ids", type: "int64", shape: ["batch", "sequence"] },
      ]);
      expect(session.outputs).toEqual([
        { name: "y", type: "float32", shape: ["batch", 3] },
        { name: "ids_shape", type: "int64", shape: [2] },
      ]);
    } finally {
      await session.release();
    }
  });

  it("runs a model given as bytes and returns plain tensors", async () => {
    const session = await createSession(addBiasModel([10, 20, 30]), { intraOpThreads: 1, graphOptimizationLevel: "basic" });
    try {
      const out = await session.run({
        x: tensor("float32", Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]),
        ids: tensor("int64", new BigInt64Array(2 * 7), [2, 7]),
      });
      expect(out.y?.type).toBe("float32");
      expect(out.y?.dims).toEqual([2, 3]);
      expect(Array.from(out.y?.data as Float32Array)).toEqual([11, 22, 33, 14, 25, 36]);
      expect(Array.from(out.ids_shape?.data as BigInt64Array)).toEqual([2n, 7n]);
    } finally {
      await session.release();
    }
  });

  it("returns only the outputs asked for", async () => {
    const session = await createSession(modelPath);
    try {
      const out = await session.run(
        { x: tensor("float32", new Float32Array(3), [1, 3]), ids: tensor("int64", new BigInt64Array(1), [1, 1]) },
        ["ids_shape"],
      );
      expect(Object.keys(out)).toEqual(["ids_shape"]);
    } finally {
      await session.release();
    }
  });

  it("writes the optimized model where asked", async () => {
    const optimized = join(dir, "optimized.onnx");
    const session = await createSession(modelPath, { graphOptimizationLevel: "basic", optimizedModelPath: optimized });
    await session.release();
    const reopened = await createSession(optimized);
    expect(reopened.inputNames).toEqual(["x", "ids"]);
    await reopened.release();
  });

  it("refuses an execution provider this machine does not have as a configuration error", async () => {
    const error = await createSession(modelPath, { executionProviders: ["cpu", "npu-that-does-not-exist"] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toContain("`npu-that-does-not-exist` is not available on this machine");
    expect(message).toContain("available: cpu");
    // A user mistake is shown as its message alone, without a stack trace.
    expect(describeError(error)).toBe(message);
  });

  it("reports a corrupt model as a ModelLoadError, a user-facing error that keeps ONNX Runtime's error as its cause", async () => {
    const good = addBiasModel();
    const corrupt = good.slice(0, Math.floor(good.length / 2));
    const error = await createSession(corrupt).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toMatch(new RegExp(`^ONNX Runtime [0-9.]+ could not load a ${corrupt.length}-byte model: `));
    expect(message).toMatch(/check that it is a valid ONNX model .* or export it again$/);
    const cause = (error as Error & { cause?: unknown }).cause;
    expect(cause).toBeInstanceOf(Error);
    // Shown as its message alone: no stack trace, no "Caused by".
    expect(describeError(error)).toBe(message);
  });

  it("reports garbage bytes and a missing file as ModelLoadErrors naming what failed", async () => {
    const garbage = join(dir, "garbage.onnx");
    await writeFile(garbage, "this is not a protobuf model\n".repeat(10));
    const fromPath = await createSession(garbage).catch((e: unknown) => e);
    expect(fromPath).toBeInstanceOf(ModelLoadError);
    expect((fromPath as Error).message).toContain(garbage);
    expect((fromPath as Error & { cause?: unknown }).cause).toBeInstanceOf(Error);

    const missing = await createSession(join(dir, "absent.onnx")).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ModelLoadError);
  });
});

describe("Session.run", () => {
  it("reports wrong inputs as a RuntimeError with the runtime's cause", async () => {
    const session = await createSession(modelPath);
    try {
      const wrongType = await session
        .run({ x: tensor("int64", new BigInt64Array(3), [1, 3]), ids: tensor("int64", new BigInt64Array(1), [1, 1]) })
        .catch((e: unknown) => e);
      expect(wrongType).toBeInstanceOf(RuntimeError);
      expect((wrongType as Error).message).toMatch(/^ONNX Runtime failed to run the model: /);
      expect((wrongType as Error & { cause?: unknown }).cause).toBeInstanceOf(Error);

      const wrongShape = await session
        .run({ x: tensor("float32", new Float32Array(4), [1, 4]), ids: tensor("int64", new BigInt64Array(1), [1, 1]) })
        .catch((e: unknown) => e);
      expect(wrongShape).toBeInstanceOf(RuntimeError);
    } finally {
      await session.release();
    }
  });
});

describe("availableExecutionProviders", () => {
  it("offers a separately installed provider only when its library is installed", async () => {
    // This machine's binding lists CUDA as supported but its library is not installed:
    // asking for it is a configuration problem, not an opaque load failure.
    if (availableExecutionProviders().includes("cuda")) return;
    const error = await createSession(modelPath, { executionProviders: ["cuda"] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain("`cuda` is not available on this machine");
  });
});
