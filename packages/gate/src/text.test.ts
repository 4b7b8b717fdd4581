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

  it("shows control characters, ESC sequences and bidi overrides from a report escaped, one check per line", () => {
    const hostile = "segfault\n    ✓ all gates passed\u001b]8;;https://evil.test\u0007link\u001b[2K\r\u202eok";
    const verdict = evaluateGates({
      plan: [{ device: "rpi5\u001b[31m", variant: "m/int4" }],
      results: [],
      failures: [{ device: "rpi5\u001b[31m", variant: "m/int4", message: hostile }],
      baseline: { status: "missing", reason: "none\u0007" },
      gates: [],
    });
    const colors = { bold: (t: string) => `\u001b[1m${t}\u001b[22m`, dim: (t: string) => t, red: (t: string) => t, yellow: (t: string) => t, green: (t: string) => t };
    const lines = formatVerdictText(verdict, colors).split("\n");
    expect(lines).toEqual([
      "✗ \u001b[1mgate failed\u001b[22m: 0 passed, 1 failed, 0 inconclusive (no baseline: none\\x07)",
      "  ✗ \u001b[1mrpi5\\x1b[31m · m/int4\u001b[22m did not report",
      '    ✗ device "rpi5\\x1b[31m" could not benchmark variant "m/int4": segfault\\n    ✓ all gates passed\\x1b]8;;https://evil.test\\x07link\\x1b[2K\\r\\u202eok',
      "      Fix the failure shown in the device's report (or its job log) and rerun.",
      "",
    ]);
  });

  it("shows a result for a device or variant the manifest lacks as a notice, not dimmed", () => {
    const verdict = evaluateGates({
      plan: [{ device: "rpi5", variant: "m/int4" }],
      results: [
        { device: "rpi5", variant: "m/int4", fingerprint: {}, metrics: {} },
        { device: "rpi6\u202e", variant: "m/int4", fingerprint: {}, metrics: {} },
        { device: "rpi5", variant: "m/int3", fingerprint: {}, metrics: {} },
        { device: "nuc", variant: "m/int4", fingerprint: {}, metrics: {} },
      ],
      baseline: { status: "missing", reason: "none" },
      gates: [],
      known: { devices: ["rpi5", "nuc"], variants: ["m/int4"] },
    });
    const style = { bold: (t: string) => t, dim: (t: string) => `<dim>${t}`, red: (t: string) => t, yellow: (t: string) => `<yellow>${t}`, green: (t: string) => t };
    expect(formatVerdictText(verdict, style).split("\n").slice(2, 5)).toEqual([
      "<yellow>  ! rpi6\\u202e · m/int4: device not in the manifest, its report was not gated",
      "<yellow>  ! rpi5 · m/int3: variant not in the manifest, its result was not gated",
      "<dim>  · nuc · m/int4: not in the plan, not gated",
    ]);
  });
});
