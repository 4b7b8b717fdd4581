import { describe, expect, it } from "vitest";
import { formatVerdictText } from "./text.js";
import { evaluateGates } from "./verdict.js";

describe("formatVerdictText", () => {
  it("lists each pair and check with its mark and location", () => {
    const verdict = evaluateGates({
      plan: [
        { device: "rpi5", variant: "m/int4" },
        { device: "nuc", variant: "m/int4" },
      ],
      results: [{ device: "rpi5", variant: "m/int4", fingerprint: {}, metrics: { "peak-memory": 100 } }],
      baseline: { status: "missing", reason: "none given" },
      gates: [{ name: "g", limits: { "peak-memory": { max: 50 } }, location: { file: "slmops.yaml", line: 9, column: 7 } }],
    });
    expect(formatVerdictText(verdict).split("\n")).toEqual([
      "✗ gate failed: 0 passed, 2 failed, 0 inconclusive (no baseline: none given)",
      "  ✗ rpi5 · m/int4 fail",
      "    ✗ peak-memory is 100B, above the maximum 50B (slmops.yaml:9:7)",
      "  ✗ nuc · m/int4 did not report",
      '    ✗ device "nuc" did not report variant "m/int4"',
      "      Check the device's job in the workflow run: it failed, was cancelled, or its report was not uploaded.",
      "",
    ]);
  });
});
