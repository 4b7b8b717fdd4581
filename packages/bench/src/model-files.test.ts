import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataType, DataLocation, encodeModel, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo } from "@slmops/onnx";
import { checkLocation, externalDataLocations, modelFiles } from "./model-files.js";
import { matmulModel, saveModel, saveModelWithExternalData } from "./test-support/models.js";

/** A model with one initializer claiming to live in external data at `location`. */
function modelPointingAt(location: string): Uint8Array {
  const w = makeTensor("w", DataType.FLOAT, [2], [0, 0]);
  const external = { ...w, rawData: new Uint8Array(0), dataLocation: DataLocation.EXTERNAL, externalData: [{ key: "location", value: location }, { key: "length", value: "8" }] };
  const graph = makeGraph([makeNode("Add", ["x", "w"], ["y"])], "g", [makeValueInfo("x", DataType.FLOAT, [2])], [makeValueInfo("y", DataType.FLOAT, [2])], [external]);
  return encodeModel(makeModel({ graph }));
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-files-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("model files on disk", () => {
  it("an inline model is one file", async () => {
    const path = await saveModel(join(dir, "inline"), "m.onnx", matmulModel(16, 1));
    const files = await modelFiles(path);
    expect(files.files.map((f) => f.name)).toEqual(["m.onnx"]);
    expect(externalDataLocations(new Uint8Array(await import("node:fs").then((fs) => fs.readFileSync(path))))).toEqual([]);
  });

  it("external data files are found through the model and counted", async () => {
    const path = await saveModelWithExternalData(join(dir, "ext"), "m.onnx", matmulModel(32, 1));
    const files = await modelFiles(path);
    expect(files.files.map((f) => f.name)).toEqual(["m.onnx", "m.onnx.data"]);
    expect(files.totalBytes).toBe(files.files[0]!.bytes + files.files[1]!.bytes);
    expect(files.files[1]!.bytes).toBeGreaterThanOrEqual(2 * 32 * 32 * 4);
  });

  it("locations that leave the directory, absolute paths and links are refused", async () => {
    const sub = join(dir, "evil");
    await import("node:fs/promises").then((fs) => fs.mkdir(sub, { recursive: true }));
    await writeFile(join(sub, "up.onnx"), modelPointingAt("../secret.bin"));
    await expect(modelFiles(join(sub, "up.onnx"))).rejects.toThrow(/external data location `..\/secret.bin` leaves the model's directory/);
    await writeFile(join(sub, "abs.onnx"), modelPointingAt("/etc/passwd"));
    await expect(modelFiles(join(sub, "abs.onnx"))).rejects.toThrow(/is an absolute path/);
    await writeFile(join(dir, "outside.bin"), Buffer.alloc(8));
    await symlink(join(dir, "outside.bin"), join(sub, "link.bin"));
    await writeFile(join(sub, "link.onnx"), modelPointingAt("link.bin"));
    await expect(modelFiles(join(sub, "link.onnx"))).rejects.toThrow(/not a regular file \(links are refused\)/);
    await writeFile(join(sub, "gone.onnx"), modelPointingAt("gone.bin"));
    await expect(modelFiles(join(sub, "gone.onnx"))).rejects.toThrow(/external data file `gone.bin` is missing/);
    expect(() => checkLocation("a/../../b", "m.onnx")).toThrow(/leaves/);
    expect(checkLocation("weights/w.bin", "m.onnx")).toBe(join("weights", "w.bin"));
  });

  it("a file that is not a model is a clear error", async () => {
    const path = join(dir, "junk.onnx");
    await writeFile(path, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    await expect(modelFiles(path)).rejects.toThrow(/junk.onnx is not a valid ONNX model: a field runs past the end/);
  });
});
