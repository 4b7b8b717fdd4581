import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseManifest } from "./index.js";
import { copyExample } from "./test-support/repo.js";

/** A small deterministic generator, so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const PIECES = ["[", "]", "{", "}", ":", ": ", "- ", "#", "&a ", "*a", "!!str ", "'", '"', "\\", "\t", "\n", "  ", "---\n", "? ", "|\n", ">-\n", "~", "null", "-1", ".inf", "1e999", "__proto__: ", "<<: ", "\u0000", "\u00e9", "😀"];

function mutate(text: string, next: () => number): string {
  let out = text;
  const edits = 1 + Math.floor(next() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(next() * out.length);
    const choice = next();
    if (choice < 0.35) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(next() * 8));
    else if (choice < 0.8) out = out.slice(0, at) + PIECES[Math.floor(next() * PIECES.length)] + out.slice(at);
    else {
      const lines = out.split("\n");
      const i = Math.floor(next() * lines.length);
      const j = Math.floor(next() * lines.length);
      [lines[i], lines[j]] = [lines[j] ?? "", lines[i] ?? ""];
      out = lines.join("\n");
    }
  }
  return out;
}

describe("mutated manifests", () => {
  let example: ReturnType<typeof copyExample>;
  let text: string;
  beforeAll(() => {
    example = copyExample();
    text = readFileSync(example.manifest, "utf8");
  });
  afterAll(() => example.cleanup());

  it("never throw, and every diagnostic has a position inside the text and a message", async () => {
    const next = random(20261128);
    for (let i = 0; i < 400; i++) {
      const input = mutate(text, next);
      const lineCount = input.split("\n").length;
      const result = await parseManifest(input, { file: join(example.root, "slmops.yaml"), root: example.root, displayPath: "slmops.yaml" }).catch((error: unknown) => {
        throw new Error(`mutation ${i} threw: ${String(error)}\n---\n${input}`);
      });
      for (const d of result.diagnostics) {
        const where = `mutation ${i}: ${d.line}:${d.column} ${d.message}`;
        expect(d.line, where).toBeGreaterThanOrEqual(1);
        expect(d.line, where).toBeLessThanOrEqual(lineCount);
        expect(d.column, where).toBeGreaterThanOrEqual(1);
        expect(d.message.length, where).toBeGreaterThan(5);
        expect(d.message, where).not.toMatch(/undefined|\[object Object\]|NaN/u);
      }
      if (!result.ok) expect(result.diagnostics.some((d) => d.severity === "error")).toBe(true);
    }
  }, 300_000); // a guard against a hang, not a speed check
});
