import { describe, expect, it } from "vitest";
import { decodeUtf8, positionOfOffset } from "./index.js";

describe("text positions", () => {
  it("counts lines and UTF-16 columns", () => {
    expect(positionOfOffset("ab\ncé\nx", 5)).toEqual({ line: 2, column: 3 });
  });

  it("decodes UTF-8 and drops a byte-order mark", () => {
    expect(decodeUtf8(Uint8Array.from([0xef, 0xbb, 0xbf, 0x61]))).toEqual({ ok: true, text: "a" });
  });

  it("places the first invalid byte at its line and column, not the sequence after it", () => {
    // 0xC3 starts a two-byte character, but `(` does not continue it: the error is at the 0xC3.
    expect(decodeUtf8(Uint8Array.from([...Buffer.from("one\ntwo é"), 0xc3, 0x28]))).toEqual({ ok: false, position: { line: 2, column: 6 }, byteOffset: 10 });
  });
});
