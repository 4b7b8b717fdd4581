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
      "✗ gate failed: 1 of 1 requirement applied to rpi5, 0 of 1 to nuc; 0 passed, 2 failed, 0 inconclusive (no baseline: none given)",
      "  rpi5: 1 of 1 requirement applied; 0 passed, 1 failed, 0 inconclusive",
      '    applies: "g" (peak-memory) on m/int4',
      "  ✗ rpi5 · m/int4 fail",
      "    ✗ peak-memory is 100B, above the maximum 50B (slmops.yaml:9:7)",
      "  nuc: 0 of 1 requirement applied; 0 passed, 1 failed, 0 inconclusive",
      '    does not apply: "g" (peak-memory): nuc did not report m/int4',
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
      "✗ \u001b[1mgate failed\u001b[22m: 0 of 0 requirements applied to rpi5\\x1b[31m; 0 passed, 1 failed, 0 inconclusive (no baseline: none\\x07)",
      "  \u001b[1mrpi5\\x1b[31m\u001b[22m: 0 of 0 requirements applied; 0 passed, 1 failed, 0 inconclusive",
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
    expect(formatVerdictText(verdict, style).split("\n").slice(3, 6)).toEqual([
      "<yellow>  ! rpi6\\u202e · m/int4: device not in the manifest, its report was not gated",
      "<yellow>  ! rpi5 · m/int3: variant not in the manifest, its result was not gated",
      "<dim>  · nuc · m/int4: not in the plan, not gated",
    ]);
  });

  it("lists for each device which gates applied and which did not, and why; the headline claims only what was checked", () => {
    const verdict = evaluateGates({
      plan: [
        { device: "local", variant: "m/int4" },
        { device: "local", variant: "m/int8" },
      ],
      results: [
        { device: "local", variant: "m/int4", fingerprint: {}, metrics: { "kl-divergence": 0.01, "peak-memory": 100 } },
        { device: "local", variant: "m/int8", fingerprint: {}, metrics: { "kl-divergence": 0.02, "peak-memory": 100 } },
      ],
      baseline: { status: "missing", reason: "none given" },
      gates: [
        { name: "edge", ref: "gates[0]", devices: ["rpi5"], limits: { "decode-latency-p90": { max: 40 }, "peak-memory": { max: 512 } } },
        { name: "accuracy", ref: "gates[1]", variants: ["int8"], limits: { "kl-divergence": { max: 0.05 } } },
        { name: "fp16 only", ref: "gates[2]", variants: ["fp16"], limits: { "kl-divergence": { max: 0.01 } } },
      ],
    });
    expect(verdict.outcome).toBe("pass");
    expect(formatVerdictText(verdict).split("\n")).toEqual([
      "✓ gate passed: 1 of 4 requirements applied to local; its 1 check passed (no baseline: none given)",
      "  local: 1 of 4 requirements applied; its 1 check passed",
      '    does not apply: gates[0] "edge" (decode-latency-p90, peak-memory): it names devices [rpi5]',
      '    applies: gates[1] "accuracy" (kl-divergence) on m/int8',
      '    does not apply: gates[2] "fp16 only" (kl-divergence): it names variants [fp16], and none of them was planned on local (m/int4, m/int8 were)',
      "  ✓ local · m/int4 no gate",
      "  ✓ local · m/int8 pass",
      "    ✓ kl-divergence is 0.02, within ≤ 0.05",
      "",
    ]);
  });

  it("says so when nothing was checked, rather than that every gate passed", () => {
    const verdict = evaluateGates({
      plan: [{ device: "local", variant: "m/int4" }],
      results: [{ device: "local", variant: "m/int4", fingerprint: {}, metrics: { "peak-memory": 100 } }],
      baseline: { status: "missing", reason: "none given" },
      gates: [{ name: "edge", ref: "gates[0]", devices: ["rpi5"], limits: { "peak-memory": { max: 512 } } }],
    });
    expect(verdict.devices).toEqual([
      {
        device: "local",
        gates: [{ gate: "edge", ref: "gates[0]", requirements: ["peak-memory"], applied: false, variants: [], reason: "it names devices [rpi5]" }],
        requirements: { applied: 0, total: 1 },
        counts: { pass: 0, fail: 0, inconclusive: 0 },
      },
    ]);
    expect(formatVerdictText(verdict).split("\n")[0]).toBe("✓ gate passed, but nothing was checked: 0 of 1 requirement applied to local (no baseline: none given)");
  });
});
