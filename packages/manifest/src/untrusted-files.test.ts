import { execFileSync } from "node:child_process";
import { closeSync, openSync, ftruncateSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadManifest, parseManifest } from "./index.js";
import { makeRepo } from "./test-support/repo.js";

const VALID = `version: 1
models:
  - id: story-lm
    source: models/story-lm/model.onnx
devices:
  - id: rpi5
    runs-on: [rpi5]
`;

/** A named pipe nobody writes to: opening it for reading in the ordinary way blocks forever. */
function fifo(path: string): string {
  execFileSync("mkfifo", [path]);
  return path;
}

describe("manifest files that are not ordinary text files", () => {
  let repo: ReturnType<typeof makeRepo>;
  beforeAll(() => {
    repo = makeRepo();
  });
  afterAll(() => repo.cleanup());

  it("refuses a manifest that is a named pipe without blocking on it", async () => {
    const path = fifo(join(repo.root, "pipe.yaml"));
    const result = await loadManifest(path, { displayPath: "pipe.yaml" });
    expect(result.ok).toBe(false);
    expect(result.diagnostics).toEqual([
      expect.objectContaining({ code: "manifest/not-a-file", file: "pipe.yaml", line: 1, column: 1, message: expect.stringMatching(/^the manifest is not a regular file \(a named pipe/u) }),
    ]);
  });

  it("refuses a 2 GiB sparse manifest from its size", async () => {
    const path = join(repo.root, "sparse.yaml");
    const fd = openSync(path, "w");
    ftruncateSync(fd, 2 * 1024 ** 3);
    closeSync(fd);
    const result = await loadManifest(path, { displayPath: "sparse.yaml" });
    expect(result.diagnostics).toEqual([expect.objectContaining({ code: "manifest/too-large", message: "the manifest is 2GiB; manifests larger than 4MiB are refused" })]);
  });

  it("refuses a referenced file that is a named pipe, at the path's value", async () => {
    fifo(join(repo.root, "models/pipe.onnx"));
    const result = await parseManifest(VALID.replace("models/story-lm/model.onnx", "models/pipe.onnx"), { file: join(repo.root, "slmops.yaml"), root: repo.root, displayPath: "slmops.yaml" });
    expect(result.ok).toBe(false);
    const d = result.diagnostics.find((x) => x.severity === "error");
    expect({ code: d?.code, line: d?.line, column: d?.column, message: d?.message }).toEqual({
      code: "path/not-a-file",
      line: 4,
      column: 13,
      message: "the source model `models/pipe.onnx` of model `story-lm` is a named pipe, not a regular file",
    });
  });
});

describe("invalid UTF-8 is placed at its byte", () => {
  const parse = (bytes: Uint8Array) => parseManifest(bytes, { file: "slmops.yaml", root: ".", checkFiles: false });
  const at = async (bytes: Uint8Array) => {
    const result = await parse(bytes);
    const d = result.diagnostics[0];
    expect(d?.code).toBe("manifest/not-text");
    return [d?.line, d?.column];
  };

  it.each([
    ["a lead byte without its continuation", [...Buffer.from("version: 1\nmodels: "), 0xc3, 0x28], [2, 9]],
    ["a stray continuation byte on the third line", [...Buffer.from("version: 1\nmodels:\n  - id: é"), 0x80], [3, 10]],
    ["a truncated three-byte character at the end", [...Buffer.from("version: 1\n"), 0xe2, 0x82], [2, 1]],
    ["an overlong encoding", [...Buffer.from("a: b\n  c: "), 0xc0, 0xaf], [2, 6]],
    ["an encoded surrogate", [...Buffer.from("x: "), 0xed, 0xa0, 0x80], [1, 4]],
    ["after a byte-order mark", [0xef, 0xbb, 0xbf, ...Buffer.from("version: 1\nx"), 0xff], [2, 2]],
  ])("%s", async (_name, bytes, position) => {
    expect(await at(Uint8Array.from(bytes))).toEqual(position);
  });

  it("places a control character in bytes at its line and column", async () => {
    expect(await at(Buffer.from("version: 1\nmodels:\n  - id: \u0001\n"))).toEqual([3, 9]);
  });
});
