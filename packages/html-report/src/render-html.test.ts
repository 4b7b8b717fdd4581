import { describe, expect, it } from "vitest";
import { escapeHtml } from "./html-text.js";
import { CONTENT_SECURITY_POLICY, renderHtmlReport } from "./render-html.js";
import { sampleVerdict } from "./test-support/reports.js";

const { verdict, reports } = sampleVerdict();
const html = renderHtmlReport(verdict, { context: { reports } });

describe("renderHtmlReport", () => {
  it("is one document whose policy forbids loading anything, and that names nothing remote", () => {
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY.replace(/'/g, "&#39;")}">`);
    expect(CONTENT_SECURITY_POLICY).toMatch(/default-src 'none'/);
    // No attribute loads or links anything (the SVG namespace is a name, not a load).
    expect(html).not.toMatch(/\s(src|href|srcset|action|poster)=/i);
    expect(html.replaceAll(`xmlns="http://www.w3.org/2000/svg"`, "")).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<(script|link|iframe|img|object|embed)\b/i);
  });

  it("shows the fp32 source as a row of its own and int4 as slower than fp32", () => {
    expect(html).toContain("story-lm/fp32 (source) <strong>(reference)</strong>");
    expect(html).toMatch(/⚠️ 0\.8\d× fp32 speed — slower than fp32/);
    expect(html).toMatch(/1\.6\d× fp32 speed</);
    expect(html).toContain("0.15× fp32 size");
  });

  it("words deltas by the metric's direction, and defines tokens/s next to the number", () => {
    expect(html).toMatch(/\(\+1[01]\.\d%, worse\)/);
    expect(html).toContain("† decode tokens per second: generated tokens ÷ their total decode time (KV cache, batch 1).");
    expect(html).toMatch(/p10–p90 [\d.]+ ms–[\d.]+ ms, 320 samples, per-token decode latency/);
    expect(html).toContain("20 (after 2 warm-up)");
    expect(html).toContain("Cortex-A76, 4 logical / 4 physical cores, 8GiB memory, linux 6.6.31 (arm64), ONNX Runtime 1.30.0, providers cpu");
    expect(html).toContain("2 warm-up iterations, then at least 20 timed iterations and at least 1 s");
  });

  it("titles charts for what they show", () => {
    expect(html).toContain("<figcaption>Decode latency p50 per variant (ms, lower is better)</figcaption>");
    expect(html).toContain("<figcaption>Peak memory per variant (MiB, lower is better)</figcaption>");
  });

  it("escapes untrusted text, bidi overrides included", () => {
    expect(escapeHtml(`<img src=x onerror="a">&'\u202e`)).toBe("&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;\\u202e");
    const hostile = renderHtmlReport({ ...verdict, baseline: { status: "missing", reason: "<script>alert(1)</script>" } });
    expect(hostile).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(hostile).not.toContain("<script>");
  });
});
