import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { COMPLETE_MARKER } from "@slmops/contained-fs";
import { ConfigurationError } from "@slmops/diagnostics";
import { describeVariant, type VariantFiles } from "./identity.js";
import { VariantMismatchError, verifyVariantFiles, type VariantProblem } from "./verify.js";

let dir: string;
let identity: VariantFiles;
const weights = Buffer.alloc(2 * 1024 * 1024 + 3, 1);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "variant-verify-"));
  writeFileSync(join(dir, "model.onnx"), "model bytes");
  writeFileSync(join(dir, "model.onnx.data"), weights);
  identity = await describeVariant(dir, ["model.onnx", "model.onnx.data"]);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function problems(): Promise<Pick<VariantProblem, "name" | "kind">[]> {
  try {
    await verifyVariantFiles(dir, identity);
  } catch (error) {
    expect(error).toBeInstanceOf(VariantMismatchError);
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as VariantMismatchError).problems.map(({ name, kind }) => ({ name, kind }));
  }
  return [];
}

describe("verifyVariantFiles", () => {
  it("accepts the files as described, beside a published build's completeness marker", async () => {
    writeFileSync(join(dir, COMPLETE_MARKER), "");
    await expect(verifyVariantFiles(dir, identity)).resolves.toEqual(identity);
  });

  it("refuses a file one byte longer", async () => {
    appendFileSync(join(dir, "model.onnx.data"), "x");
    expect(await problems()).toEqual([{ name: "model.onnx.data", kind: "longer" }]);
  });

  it("refuses a file one byte shorter", async () => {
    truncateSync(join(dir, "model.onnx.data"), weights.length - 1);
    expect(await problems()).toEqual([{ name: "model.onnx.data", kind: "shorter" }]);
  });

  it("refuses a file with one byte changed (its last)", async () => {
    const changed = Buffer.from(weights);
    changed[changed.length - 1] = 2;
    writeFileSync(join(dir, "model.onnx.data"), changed);
    expect(await problems()).toEqual([{ name: "model.onnx.data", kind: "content" }]);
  });

  it("refuses a missing file and an extra file or directory, listing each", async () => {
    unlinkSync(join(dir, "model.onnx.data"));
    writeFileSync(join(dir, "extra.bin"), "");
    mkdirSync(join(dir, "more"));
    expect(await problems()).toEqual([
      { name: "model.onnx.data", kind: "missing" },
      { name: "extra.bin", kind: "extra" },
      { name: "more", kind: "extra" },
    ]);
  });

  it("refuses a link in place of a file, even to identical bytes", async () => {
    writeFileSync(join(dir, "..copy"), "model bytes");
    unlinkSync(join(dir, "model.onnx"));
    symlinkSync("..copy", join(dir, "model.onnx"));
    expect(await problems()).toEqual([
      { name: "model.onnx", kind: "not-a-file" },
      { name: "..copy", kind: "extra" },
    ]);
  });

  it("refuses an identity whose digest is not the digest of its files", async () => {
    const forged = { ...identity, files: [identity.files[0]!, { ...identity.files[1]!, bytes: 1 }] };
    await expect(verifyVariantFiles(dir, forged)).rejects.toThrow(/not the digest of its files/);
  });
});
