import { LineCounter, parseDocument } from "yaml";
import { describe, expect, it } from "vitest";
import { toPlainTree } from "./tree.js";

const limits = { maxDepth: 64, maxAliasExpansion: 100 };
const tree = (text: string) => toPlainTree(parseDocument(text, { lineCounter: new LineCounter(), uniqueKeys: false }), limits);

describe("toPlainTree", () => {
  it("keeps a __proto__ key as an own data property and the prototype untouched", () => {
    const { value } = tree("a:\n  __proto__: { polluted: true }\n  b: 1\n");
    const a = (value as { a: Record<string, unknown> }).a;
    expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(a, "__proto__")).toBe(true);
    expect(Object.getOwnPropertyDescriptor(a, "__proto__")?.value).toEqual({ polluted: true });
    expect(a.polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(a)).toEqual(["__proto__", "b"]);
  });

  it("records where each value and key is", () => {
    const text = "models:\n  - id: m\n    source: a.onnx\n";
    const { spans } = tree(text);
    const span = spans.get("/models/0/source");
    expect(text.slice(span?.start, span?.end)).toBe("a.onnx");
    expect(text.slice(span?.keyStart, span?.keyEnd)).toBe("source");
  });

  it("escapes keys in pointers", () => {
    const { spans } = tree("a/b: { c~d: 1 }\n");
    expect(spans.has("/a~1b/c~0d")).toBe(true);
  });

  it("expands aliases within the budget and refuses beyond it", () => {
    expect(tree("a: &x [1, 2]\nb: *x\n").value).toEqual({ a: [1, 2], b: [1, 2] });
    const big = `a: &x [${Array(60).fill(1).join(", ")}]\nb: [*x, *x]\n`;
    expect(tree(big).problems.map((p) => p.code)).toEqual(["manifest/alias-bomb"]);
  });

  it("reports duplicate keys, including ones that only collide as text", () => {
    const { problems } = tree("1: a\n'1': b\n");
    expect(problems.map((p) => p.message)).toEqual(["duplicate key `1`"]);
  });
});
