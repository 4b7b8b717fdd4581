import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigurationError } from "@slmops/diagnostics";
import { describeVariant, variantBytes, variantDigest, variantFiles, type VariantFile } from "./identity.js";
import { DEFAULT_VARIANTS_DIR, variantDirectory, variantModelPath } from "./layout.js";

const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");

// The README's worked example, computed independently of this package.
const GOLDEN_FILES: VariantFile[] = [
  { name: "model.onnx", bytes: 5, sha256: "9372c470eeadd5ecd9c3c74c2b3cb633f8e2f2fad799250a0f70d652b6b825e4" },
  { name: "model.onnx.data", bytes: 7, sha256: "9a129038d9a00aed0cf6a7ea059ca50a813449061ab87848cf1a13eafdf33b2c" },
];
const GOLDEN_INPUT =
  "736c6d6f70732d76617269616e742d66696c65732d763100000002" +
  "0000000a6d6f64656c2e6f6e6e78" + "0000000000000005" + "9372c470eeadd5ecd9c3c74c2b3cb633f8e2f2fad799250a0f70d652b6b825e4" +
  "0000000f6d6f64656c2e6f6e6e782e64617461" + "0000000000000007" + "9a129038d9a00aed0cf6a7ea059ca50a813449061ab87848cf1a13eafdf33b2c";
const GOLDEN_DIGEST = "15531b8e4b6151650d5aad58c7d3b12dfbe741b51978f601c11281ec557ae4f0";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "variant-identity-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("variantDigest", () => {
  it("matches the golden vector: sha256 of the documented, length-prefixed framing", () => {
    expect(sha(Buffer.from(GOLDEN_INPUT, "hex"))).toBe(GOLDEN_DIGEST);
    expect(variantDigest(GOLDEN_FILES)).toBe(GOLDEN_DIGEST);
  });

  it("does not depend on the order the files are given in, and sorts names by their UTF-8 bytes", () => {
    expect(variantDigest([...GOLDEN_FILES].reverse())).toBe(GOLDEN_DIGEST);
    // "Z" (0x5a) sorts before "a" (0x61), "é" (0xc3 0xa9) after both.
    const a = { name: "a", bytes: 1, sha256: sha("a") };
    const z = { name: "Z", bytes: 1, sha256: sha("Z") };
    const e = { name: "é", bytes: 1, sha256: sha("é") };
    expect(variantDigest([e, a, z])).toBe(variantDigest([z, a, e]));
  });

  it("changes with any name, length or sha256, and cannot be shifted between name and length", () => {
    const changed = [
      [{ ...GOLDEN_FILES[0]!, name: "model2.onnx" }, GOLDEN_FILES[1]!],
      [{ ...GOLDEN_FILES[0]!, bytes: 6 }, GOLDEN_FILES[1]!],
      [{ ...GOLDEN_FILES[0]!, sha256: sha("other") }, GOLDEN_FILES[1]!],
      [GOLDEN_FILES[0]!],
    ];
    const digests = new Set([GOLDEN_DIGEST, ...changed.map((files) => variantDigest(files))]);
    expect(digests.size).toBe(changed.length + 1);
  });

  it("refuses a list that is not an identity", () => {
    const f = GOLDEN_FILES[0]!;
    for (const files of [
      [],
      [f, f],
      [{ ...f, name: "../model.onnx" }],
      [{ ...f, name: "/abs" }],
      [{ ...f, name: "a//b" }],
      [{ ...f, name: "a\\b" }],
      [{ ...f, bytes: -1 }],
      [{ ...f, bytes: 1.5 }],
      [{ ...f, sha256: f.sha256.toUpperCase() }],
      [{ ...f, sha256: "abc" }],
    ]) {
      expect(() => variantDigest(files)).toThrow(ConfigurationError);
    }
  });
});

describe("describeVariant", () => {
  it("reads each file's length and sha256 and computes the digest", async () => {
    writeFileSync(join(dir, "model.onnx"), "model");
    writeFileSync(join(dir, "model.onnx.data"), "weights");
    const identity = await describeVariant(dir, ["model.onnx", "model.onnx.data"]);
    expect(identity).toEqual({ files: GOLDEN_FILES, digest: GOLDEN_DIGEST });
    expect(variantBytes(identity)).toBe(12);
    expect(variantFiles(identity.files)).toEqual(identity);
  });

  it("streams a file larger than its read chunk", async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    writeFileSync(join(dir, "model.onnx"), big);
    const identity = await describeVariant(dir, ["model.onnx"]);
    expect(identity.files).toEqual([{ name: "model.onnx", bytes: big.length, sha256: sha(big) }]);
  });

  it("reads files in subdirectories, and through a link at the variant directory itself", async () => {
    mkdirSync(join(dir, "real/weights"), { recursive: true });
    writeFileSync(join(dir, "real/model.onnx"), "model");
    writeFileSync(join(dir, "real/weights/a.bin"), "a");
    symlinkSync("real", join(dir, "published"));
    const identity = await describeVariant(join(dir, "published"), ["model.onnx", "weights/a.bin"]);
    expect(identity.files[1]).toEqual({ name: "weights/a.bin", bytes: 1, sha256: sha("a") });
  });

  it("refuses a link, a link on the way, a FIFO and a missing file", async () => {
    writeFileSync(join(dir, "target"), "x");
    symlinkSync("target", join(dir, "model.onnx"));
    await expect(describeVariant(dir, ["model.onnx"])).rejects.toThrow(/symbolic link/);
    mkdirSync(join(dir, "elsewhere"));
    writeFileSync(join(dir, "elsewhere/a.bin"), "a");
    symlinkSync("elsewhere", join(dir, "weights"));
    await expect(describeVariant(dir, ["weights/a.bin"])).rejects.toThrow(/through a symbolic link/);
    execFileSync("mkfifo", [join(dir, "fifo")]);
    await expect(describeVariant(dir, ["fifo"])).rejects.toThrow(/not a regular file/);
    await expect(describeVariant(dir, ["absent.onnx"])).rejects.toThrow(/does not exist/);
  });
});

describe("the variants directory layout", () => {
  it("is <dir>/<model>/<variant>/model.onnx under .slmops/variants by default", () => {
    expect(DEFAULT_VARIANTS_DIR).toBe(".slmops/variants");
    expect(variantDirectory("/out", "story-lm", "int4")).toBe(join("/out", "story-lm", "int4"));
    expect(variantModelPath(DEFAULT_VARIANTS_DIR, "story-lm", "int4")).toBe(join(".slmops/variants/story-lm/int4/model.onnx"));
    for (const [model, variant] of [["..", "int4"], ["story-lm", "a/b"], ["story-lm", ".hidden"], ["", "int4"]] as const) {
      expect(() => variantDirectory("/out", model, variant)).toThrow(/cannot be a directory name/);
    }
  });
});
