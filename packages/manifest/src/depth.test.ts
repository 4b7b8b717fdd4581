import { describe, expect, it } from "vitest";
import { findExcessiveNesting } from "./depth.js";
import { closest } from "./suggest.js";

describe("findExcessiveNesting", () => {
  it.each([
    ["block mappings", "a:\n  b:\n    c:\n      d: 1\n", 4],
    ["block sequences", "- - - x\n", 3],
    ["flow collections", "a: [[{b: [1]}]]\n", 5],
    ["sequences of mappings", "models:\n  - id: a\n    variants:\n      - id: b\n", 5],
  ])("counts %s, never less than the parser builds and at most one more", (_name, text, depth) => {
    expect(findExcessiveNesting(text, depth + 1)).toBeUndefined();
    expect(findExcessiveNesting(text, depth - 1)).toBeDefined();
  });

  it.each([
    ["brackets inside quotes", `a: "[[[[[[[["\nb: '{{{{{{{{'\n`],
    ["brackets inside plain text", "a: x [[[[[[[[\n"],
    ["brackets in comments", "a: 1 # [[[[[[[[\n"],
    ["brackets in a block scalar", "a: |\n  [[[[[[[[\n  {{{{{{{{\nb: 1\n"],
    ["a multi-line quoted scalar", `a: "one\n  [[[[[[[[ two"\n`],
  ])("ignores %s", (_name, text) => {
    expect(findExcessiveNesting(text, 3)).toBeUndefined();
  });

  it("reports the offset where the limit is passed", () => {
    // The mapping is one level, so the third `[` (offset 5) is the fourth level.
    expect(findExcessiveNesting("a: [[[[", 3)).toEqual({ offset: 5 });
  });
});

describe("closest", () => {
  it("finds typos, case and separator differences", () => {
    expect(closest("memory_budget", ["memory-budget", "threads"])).toBe("memory-budget");
    expect(closest("Threads", ["memory-budget", "threads"])).toBe("threads");
    expect(closest("rpi-5", ["rpi5", "jetson"])).toBe("rpi5");
    expect(closest("treads", ["memory-budget", "threads"])).toBe("threads");
  });

  it("suggests nothing for unrelated words", () => {
    expect(closest("banana", ["rpi5", "jetson"])).toBeUndefined();
    expect(closest("x".repeat(500), ["rpi5"])).toBeUndefined();
  });
});
