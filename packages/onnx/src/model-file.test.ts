import { execFileSync } from "node:child_process";
import { link, mkdir, readFile, readdir, stat, symlink, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createSession, tensor } from "@slmops/runtime";
import { ConfigurationError } from "@slmops/diagnostics";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DataLocation,
  DataType,
  ExternalDataError,
  encodeModel,
  externalSourceOf,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
  readModel,
  tensorToArray,
  writeModel,
  type ModelProto,
  type SparseTensorProto,
} from "./index.js";
import { mlpModel, seededFloats, tempDir } from "./test-support/models.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => cleanup());

async function runMlp(model: string | Uint8Array): Promise<number[]> {
  const session = await createSession(model);
  const x = seededFloats(2 * 64, 9);
  const out = await session.run({ x: tensor("float32", x, [2, 64]) });
  await session.release();
  return Array.from(out["y"]!.data as Float32Array);
}

/** Writes a model whose single external tensor `w1` points where the test says. */
async function modelWithExternal(entries: Record<string, string>, file = "bad.onnx"): Promise<string> {
  const model = mlpModel();
  const w1 = model.graph!.initializer[0]!;
  delete w1.rawData;
  w1.dataLocation = DataLocation.EXTERNAL;
  w1.externalData = Object.entries(entries).map(([key, value]) => ({ key, value }));
  const path = join(dir, file);
  await writeFile(path, encodeModel(model));
  return path;
}

const W1_BYTES = 64 * 32 * 4;

describe("writeModel / readModel with external data", () => {
  it("moves large tensors to one aligned data file and reads them back unchanged", async () => {
    const model = mlpModel();
    const path = join(dir, "model.onnx");
    const progress: string[] = [];
    const result = await writeModel(path, model, {
      externalData: { threshold: 1024, align: 4096 },
      onTensorWritten: (done, total, name) => progress.push(`${done}/${total} ${name}`),
    });
    expect(result.externalTensors).toBe(2); // w1 (8 KiB) and w2 (1 KiB); b and shape stay inline
    expect(progress).toEqual(["1/2 w1", "2/2 w2"]);
    expect(result.dataPath).toBe(join(dir, "model.onnx.data"));

    const lazy = await readModel(path, { externalData: "lazy" });
    const w1 = lazy.graph!.initializer[0]!;
    expect(w1.dataLocation).toBe(DataLocation.EXTERNAL);
    const offsets = lazy.graph!.initializer
      .filter((t) => t.dataLocation === DataLocation.EXTERNAL)
      .map((t) => Number(t.externalData.find((e) => e.key === "offset")!.value));
    expect(offsets).toEqual([0, 8192]);
    expect(tensorToArray(w1)).toEqual(tensorToArray(model.graph!.initializer[0]!));

    const loaded = await readModel(path);
    expect(loaded).toEqual(model);
    expect((await readdir(dir)).sort()).toEqual(["model.onnx", "model.onnx.data"]); // no temp files left
  });

  it("gives ONNX Runtime a model with external data it runs to the same outputs", async () => {
    const model = mlpModel();
    const expected = await runMlp(encodeModel(model));
    const path = join(dir, "model.onnx");
    await writeModel(path, model, { externalData: true });
    expect(await runMlp(path)).toEqual(expected);
  });

  it("rewrites a lazily read model in place, streaming its tensors", async () => {
    const model = mlpModel();
    const path = join(dir, "model.onnx");
    await writeModel(path, model, { externalData: { threshold: 0, align: 64 } });
    const lazy = await readModel(path, { externalData: "lazy" });
    lazy.producerName = "rewritten";
    const result = await writeModel(path, lazy, { externalData: { threshold: 0, align: 64 } });
    expect(result.externalTensors).toBe(4);
    const again = await readModel(path);
    expect(again.producerName).toBe("rewritten");
    expect(again.graph!.initializer).toEqual(model.graph!.initializer);
    // The lazily read model's source file was replaced: reading through it now is refused.
    expect(() => tensorToArray(lazy.graph!.initializer[0]!)).toThrow(/changed after the model was read/);
  });

  it("inlines lazily read tensors when writing without external data", async () => {
    const model = mlpModel();
    await writeModel(join(dir, "a.onnx"), model, { externalData: true });
    const lazy = await readModel(join(dir, "a.onnx"), { externalData: "lazy" });
    expect(externalSourceOf(lazy.graph!.initializer[0]!)).toBeDefined();
    await writeModel(join(dir, "b.onnx"), lazy);
    expect(await readModel(join(dir, "b.onnx"))).toEqual(model);
    expect(lazy.graph!.initializer[0]!.dataLocation).toBe(DataLocation.EXTERNAL); // caller's model untouched
  });

  it("externalizes Constant attributes and sparse initializers too, and ONNX Runtime reads them", async () => {
    const constant = makeTensor("c", DataType.FLOAT, [1024], new Float32Array(1024).fill(2));
    const sparse: SparseTensorProto = {
      values: makeTensor("s", DataType.FLOAT, [512], new Float32Array(512).fill(3)),
      indices: makeTensor("si", DataType.INT64, [512], Array.from({ length: 512 }, (_, i) => BigInt(i * 2))),
      dims: [1024],
    };
    const graph = makeGraph(
      [makeNode("Constant", [], ["k"], { value: constant }), makeNode("Add", ["x", "k"], ["y0"]), makeNode("Add", ["y0", "s"], ["y"])],
      "g",
      [makeValueInfo("x", DataType.FLOAT, [1024])],
      [makeValueInfo("y", DataType.FLOAT, [1024])],
      [],
      { sparseInitializers: [sparse] },
    );
    const path = join(dir, "m.onnx");
    expect((await writeModel(path, makeModel({ graph }), { externalData: { threshold: 1024 } })).externalTensors).toBe(3);
    const lazy = await readModel(path, { externalData: "lazy" });
    expect(lazy.graph!.node[0]!.attribute[0]!.t!.dataLocation).toBe(DataLocation.EXTERNAL);
    expect(lazy.graph!.sparseInitializer[0]!.indices!.dataLocation).toBe(DataLocation.EXTERNAL);
    const session = await createSession(path);
    const out = await session.run({ x: tensor("float32", new Float32Array(1024).fill(1), [1024]) });
    await session.release();
    const y = out["y"]!.data as Float32Array;
    expect([y[0], y[1], y[1022], y[1023]]).toEqual([6, 3, 6, 3]);
  });

  it("does not change the model it writes", async () => {
    const model = mlpModel();
    const before = structuredClone(model);
    await writeModel(join(dir, "m.onnx"), model, { externalData: { threshold: 0 } });
    expect(model).toEqual(before);
  });

  it("leaves the old files in place when writing fails", async () => {
    const path = join(dir, "m.onnx");
    await writeModel(path, mlpModel());
    const before = await readFile(path);
    const broken: ModelProto = mlpModel();
    broken.graph!.initializer.push({ ...makeTensor("bad", DataType.FLOAT, [2], [1, 2]), dims: [3] });
    await expect(writeModel(path, broken, { externalData: { threshold: 0 } })).rejects.toThrow(/tensor "bad"/);
    expect(await readFile(path)).toEqual(before);
    expect((await readdir(dir)).sort()).toEqual(["m.onnx"]);
  });
});

describe("untrusted external data references are refused before use", () => {
  const refused = async (path: string, pattern: RegExp): Promise<void> => {
    const error = await readModel(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ExternalDataError);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/tensor "w1"/);
    expect((error as Error).message).toMatch(pattern);
  };

  it("refuses paths that climb out with ..", async () => {
    const secret = join(dir, "..", `secret-${process.pid}.bin`);
    await writeFile(secret, new Uint8Array(W1_BYTES));
    try {
      await refused(await modelWithExternal({ location: `../secret-${process.pid}.bin` }), /climbs out .*"\.\."/);
    } finally {
      await unlink(secret);
    }
    await refused(await modelWithExternal({ location: "sub/../../x.bin" }), /climbs out/);
    await refused(await modelWithExternal({ location: "..\\x.bin" }), /climbs out/);
  });

  it("refuses absolute paths", async () => {
    await refused(await modelWithExternal({ location: "/etc/passwd" }), /absolute path/);
    await refused(await modelWithExternal({ location: "C:\\weights.bin" }), /absolute path/);
    await refused(await modelWithExternal({ location: "\\\\server\\share\\w.bin" }), /absolute path/);
  });

  it("refuses symbolic links, as the file or on the way to it", async () => {
    await writeFile(join(dir, "real.bin"), new Uint8Array(W1_BYTES));
    await symlink(join(dir, "real.bin"), join(dir, "link.bin"));
    await refused(await modelWithExternal({ location: "link.bin" }), /"link\.bin", which is a symbolic link/);
    await mkdir(join(dir, "real"));
    await writeFile(join(dir, "real", "w.bin"), new Uint8Array(W1_BYTES));
    await symlink(join(dir, "real"), join(dir, "linkdir"));
    await refused(await modelWithExternal({ location: "linkdir/w.bin" }), /goes through the symbolic link "linkdir"/);
  });

  it("refuses a hard link, which can alias a file outside the model's directory", async () => {
    const outside = await tempDir("slmops-onnx-outside-");
    try {
      const secret = join(outside.dir, "secret.bin");
      await writeFile(secret, new Uint8Array(W1_BYTES));
      await link(secret, join(dir, "alias.bin"));
      await refused(await modelWithExternal({ location: "alias.bin" }), /"alias\.bin", which has 2 hard links.*replace the link with a copy of the file/);
      // The same bytes as a copy of their own are accepted.
      await unlink(join(dir, "alias.bin"));
      await writeFile(join(dir, "alias.bin"), await readFile(secret));
      expect((await readModel(await modelWithExternal({ location: "alias.bin" }))).graph!.initializer[0]!.rawData!.byteLength).toBe(W1_BYTES);
    } finally {
      await outside.cleanup();
    }
  });

  it("refuses files that are not regular files", async () => {
    await mkdir(join(dir, "adir"));
    await refused(await modelWithExternal({ location: "adir" }), /not a regular file/);
    execFileSync("mkfifo", [join(dir, "fifo")]);
    await refused(await modelWithExternal({ location: "fifo" }), /not a regular file/);
    await refused(await modelWithExternal({ location: "missing.bin" }), /does not exist/);
  });

  it("refuses byte ranges outside the file", async () => {
    await writeFile(join(dir, "w.bin"), new Uint8Array(W1_BYTES));
    await refused(await modelWithExternal({ location: "w.bin", offset: "1" }), /reads bytes 1\.\.8193 of "w\.bin", which has only 8192 bytes/);
    await refused(await modelWithExternal({ location: "w.bin", offset: "18446744073709551615" }), /which has only 8192 bytes/);
    await refused(await modelWithExternal({ location: "w.bin", offset: "-4" }), /offset "-4"/);
    await refused(await modelWithExternal({ location: "w.bin", offset: "0x10" }), /offset "0x10"/);
  });

  it("refuses lengths that differ from the tensor's declared size", async () => {
    await writeFile(join(dir, "w.bin"), new Uint8Array(2 * W1_BYTES));
    await refused(await modelWithExternal({ location: "w.bin", length: "4" }), /declares 4 bytes .* needs 8192/);
    await refused(await modelWithExternal({ location: "w.bin", length: String(2 * W1_BYTES) }), /needs 8192/);
  });

  it("refuses absurd declared shapes without overflowing", async () => {
    await writeFile(join(dir, "w.bin"), new Uint8Array(W1_BYTES));
    const model = mlpModel();
    const w1 = model.graph!.initializer[0]!;
    delete w1.rawData;
    w1.dims = [2 ** 53 - 1, 2 ** 53 - 1, 2 ** 40];
    w1.dataLocation = DataLocation.EXTERNAL;
    w1.externalData = [{ key: "location", value: "w.bin" }];
    await writeFile(join(dir, "huge.onnx"), encodeModel(model));
    await refused(join(dir, "huge.onnx"), /bytes; tensors above \d+ bytes are refused/);
  });

  it("refuses unknown, repeated or missing keys", async () => {
    await writeFile(join(dir, "w.bin"), new Uint8Array(W1_BYTES));
    await refused(await modelWithExternal({ location: "w.bin", basepath: "/" }), /unknown external_data key "basepath"/);
    await refused(await modelWithExternal({ offset: "0" }), /no location/);
  });

  it("accepts a well-formed reference in a subdirectory and loads it", async () => {
    await mkdir(join(dir, "weights"));
    const w1 = mlpModel().graph!.initializer[0]!;
    await writeFile(join(dir, "weights", "w.bin"), Buffer.concat([Buffer.alloc(16), Buffer.from(w1.rawData!)]));
    const path = await modelWithExternal({ location: "weights/w.bin", offset: "16", length: String(W1_BYTES) });
    const model = await readModel(path);
    expect(model.graph!.initializer[0]).toEqual(w1);
    expect((await stat(path)).isFile()).toBe(true);
  });
});
