/** The Markdown report (for the pull request) and the HTML report say the same things about the same verdict. */
import { applicabilityLines } from "@slmops/gate";
import { renderReport } from "@slmops/github-report";
import { describe, expect, it } from "vitest";
import { renderHtmlReport } from "./render-html.js";
import { sampleVerdict } from "./test-support/reports.js";

const { verdict, reports } = sampleVerdict();
const markdown = renderReport(verdict, { context: { reports }, marker: false });
const html = renderHtmlReport(verdict, { context: { reports } });

describe("the Markdown and the HTML report", () => {
  it.each([
    "story-lm/fp32 (source)",
    "0.80× fp32 speed — slower than fp32",
    "1.67× fp32 speed",
    "0.25× fp32 size",
    "0.55× fp32 memory",
    "decode tokens per second: generated tokens ÷ their total decode time (KV cache, batch 1)",
    "2 warm-up iterations, then at least 20 timed iterations",
    "ONNX Runtime 1.30.0, providers cpu",
    "320 samples",
    "20 (after 2 warm-up)",
    "Decode latency p50 per variant (ms, lower is better)",
    "+11.1%, worse",
    "decode-latency-p90 is 13 ms, above the maximum 12 ms",
  ])("both say %s", (text) => {
    // Markdown escapes some punctuation with a backslash; the words are the same.
    expect(markdown.replace(/\\(.)/g, "$1")).toContain(text);
    expect(html).toContain(text);
  });

  it("the Markdown chart includes the fp32 source's bar and starts its axis at zero", () => {
    const chart = /```mermaid\n([\s\S]*?)\n```/.exec(markdown)![1]!;
    expect(chart).toContain('x-axis ["rpi5 · story-lm/fp32 (source)", "rpi5 · story-lm/int8", "rpi5 · story-lm/int4"]');
    expect(chart).toMatch(/y-axis "ms" 0 --> [\d.]+/);
    // No baseline line when the fp32 bar has none: a line would misplace the baselines.
    expect(chart).not.toMatch(/^\s+line /m);
  });

  it("both list, per device, which gates applied and why the others did not, in the gate's own words", () => {
    const lines = verdict.devices.flatMap((d) => applicabilityLines(d).map((l) => l.text));
    expect(lines.length).toBeGreaterThan(0);
    const unhtml = (t: string) => t.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
    const unmarkdown = (t: string) => t.replace(/\\(.)/g, "$1");
    expect(unmarkdown(markdown)).toContain("### Which gates applied");
    expect(html).toContain("<h2>Which gates applied</h2>");
    for (const line of lines) {
      expect(unmarkdown(markdown)).toContain(line);
      expect(unhtml(html)).toContain(line);
    }
  });
});
