import { createRandom, evaluateGates, type DeviceResult, type GateInput, type Verdict } from "@slmops/gate";
import { describe, expect, it } from "vitest";
import { REPORT_MARKER } from "./comment.js";
import { escapeMarkdown } from "./markdown-text.js";
import { renderChart, renderReport } from "./render.js";

/** Latency samples around `median` ms with a little noise. */
function samples(seed: string, median: number, n = 120): number[] {
  const random = createRandom(seed);
  return Array.from({ length: n }, () => median * (1 + (random() - 0.5) * 0.04));
}

function result(device: string, median: number, seed: string, extra: Partial<DeviceResult["metrics"]> = {}): DeviceResult {
  return {
    device,
    variant: "story-lm/int4",
    fingerprint: { cpu: device },
    metrics: { "decode-latency-p50": median, "peak-memory": 300 * 2 ** 20, "kl-divergence": 0.01, ...extra },
    samples: { "decode-latency": samples(seed, median) },
  };
}

function verdictOf(overrides: Partial<GateInput> = {}): Verdict {
  return evaluateGates({
    plan: ["rpi5", "jetson", "pixel"].map((device) => ({ device, variant: "story-lm/int4" })),
    results: [result("rpi5", 44, "c1"), result("jetson", 12, "c2", { "kl-divergence": 0.2 })],
    baseline: { status: "found", source: "bench.yml run #12 on main (abc1234)", results: [result("rpi5", 40, "b1"), result("jetson", 12, "b2")] },
    gates: [
      {
        name: "edge",
        limits: { "peak-memory": { max: 512 * 2 ** 20 }, "kl-divergence": { max: 0.05 } },
        regression: { metric: "decode-latency-p50", maxChange: 0.05 },
        location: { file: "slmops.yaml", line: 28, column: 5 },
      },
    ],
    ...overrides,
  });
}

/** Splits a Markdown table row into cells, honouring `\|` escapes. */
function cells(row: string): string[] {
  return row
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

function parseTable(markdown: string): { header: string[]; rows: string[][] } {
  const lines = markdown.split("\n").filter((l) => l.startsWith("| "));
  const [header, separator, ...rows] = lines;
  expect(separator).toMatch(/^\| (---:? \| )+---:? \|$/);
  return { header: cells(header!), rows: rows.map(cells) };
}

function codeBlock(markdown: string, language: string): string {
  const match = new RegExp("```" + language + "\\n([\\s\\S]*?)\\n```").exec(markdown);
  expect(match, `a ${language} block`).not.toBeNull();
  return match![1]!;
}

describe("renderReport", () => {
  const verdict = verdictOf();
  const markdown = renderReport(verdict, { runUrl: "https://example.test/run/1" });

  it("starts with the marker and a headline with the overall outcome", () => {
    const [marker, headline] = markdown.split("\n");
    expect(marker).toBe(REPORT_MARKER);
    expect(verdict.outcome).toBe("fail");
    expect(headline).toBe("## ❌ slmops: a gate failed");
    expect(markdown).toContain("Baseline: bench.yml run #&#8203;12 on main (abc1234).");
    expect(markdown).toContain(`${verdict.counts.pass} passed, ${verdict.counts.fail} failed, ${verdict.counts.inconclusive} inconclusive.`);
    expect(markdown).toContain("[Workflow run](https://example.test/run/1)");
  });

  it("has a device × variant table with each metric, its delta and a mark per gate", () => {
    const { header, rows } = parseTable(markdown);
    expect(header).toEqual(["Device", "Variant", "Result", "decode p50", "peak memory", "KL div."]);
    expect(rows.map((r) => [r[0], r[1], r[2]])).toEqual([
      ["rpi5", "story-lm/int4", "❌"],
      ["jetson", "story-lm/int4", "❌"],
      ["pixel", "story-lm/int4", "❌ did not report"],
    ]);
    const rpi = Object.fromEntries(header.map((h, i) => [h, rows[0]![i]]));
    expect(rpi["decode p50"]).toBe("44 ms ❌ (+10.0%, worse)");
    expect(rpi["peak memory"]).toBe("300MiB ✅ (+0.00%, unchanged)");
    const jetson = Object.fromEntries(header.map((h, i) => [h, rows[1]![i]]));
    expect(jetson["decode p50"]).toMatch(/^12 ms ✅ \(\+0\.00%, unchanged\)$/);
    expect(jetson["KL div."]).toBe("0.2 ❌ (+1900%, worse)");
    expect(rows[2]!.slice(3)).toEqual(["—", "—", "—"]);
  });

  it("keeps metrics no gate checks and no default column shows in the raw figures only", () => {
    const extra = verdictOf({ results: [{ ...result("rpi5", 44, "c1"), metrics: { ...result("rpi5", 44, "c1").metrics, "load-time-warm": 12, "ttft-p90": 80 } }] });
    const text = renderReport(extra);
    expect(parseTable(text).header).toEqual(["Device", "Variant", "Result", "decode p50", "peak memory", "KL div."]);
    expect(text).toContain('"load-time-warm": 12');
  });

  it("lists the checks that did not pass, with where the gate is", () => {
    const section = markdown.split("### Checks that did not pass\n\n")[1]!.split("\n\n")[0]!;
    const items = section.split("\n").filter((l) => l.startsWith("- "));
    expect(items).toHaveLength(verdict.counts.fail + verdict.counts.inconclusive);
    expect(items.some((l) => l.startsWith("- ❌ **pixel · story-lm/int4** — device \"pixel\" did not report"))).toBe(true);
    expect(items.some((l) => /^- ❌ \*\*rpi5 · story-lm\/int4\*\* — decode-latency-p50 changed \+\d+\.\d+% \(95% interval .*\), which exceeds the allowed \+5\.00% increase _\(slmops\.yaml:28\)_$/.test(l))).toBe(true);
  });

  it("charts the key metric per device with Mermaid, the baseline as a line", () => {
    const chart = codeBlock(markdown, "mermaid").split("\n");
    expect(chart[0]).toBe("xychart-beta");
    const field = (name: string) => chart.find((l) => l.trim().startsWith(`${name} `))!.trim().slice(name.length + 1);
    expect(JSON.parse(field("title"))).toBe("Decode latency p50 per variant (ms, lower is better)");
    expect(JSON.parse(field("x-axis"))).toEqual(["rpi5 · story-lm/int4", "jetson · story-lm/int4"]);
    // The value axis starts at zero, above the tallest bar.
    expect(field("y-axis")).toBe('"ms" 0 --> 48.4');
    expect(JSON.parse(field("bar"))).toEqual([44, 12]);
    expect(JSON.parse(field("line"))).toEqual([40, 12]);
  });

  it("keeps the raw figures in a collapsed section as JSON", () => {
    const details = /<details><summary>Raw figures<\/summary>([\s\S]*?)<\/details>/.exec(markdown);
    expect(details).not.toBeNull();
    const raw = JSON.parse(codeBlock(details![1]!, "json")) as { outcome: string; pairs: { device: string; metrics: Record<string, number>; checks: { regression?: { lower: number } }[] }[] };
    expect(raw.outcome).toBe("fail");
    expect(raw.pairs.map((p) => p.device)).toEqual(["rpi5", "jetson", "pixel"]);
    expect(raw.pairs[0]!.metrics["decode-latency-p50"]).toBe(44);
    const regression = raw.pairs[0]!.checks.find((c) => c.regression)!.regression!;
    expect(regression.lower).toBeGreaterThan(0.05);
  });

  it("says better for a faster variant and worse for fewer tokens/s, by each metric's direction", () => {
    const tps = (device: string, v: number) => ({ ...result(device, 40, "t"), metrics: { "tokens-per-second": v, "decode-latency-p50": 1000 / v } });
    const text = renderReport(verdictOf({ plan: [{ device: "rpi5", variant: "story-lm/int4" }], results: [tps("rpi5", 20)], baseline: { status: "found", source: "main", results: [tps("rpi5", 25)] } }));
    const { header, rows } = parseTable(text);
    const cell = (name: string) => rows[0]![header.indexOf(name)];
    expect(cell("tokens/s")).toBe("20 tokens/s (−20.0%, worse)");
    const faster = renderReport(verdictOf({ plan: [{ device: "rpi5", variant: "story-lm/int4" }], results: [tps("rpi5", 25)], baseline: { status: "found", source: "main", results: [tps("rpi5", 20)] } }));
    expect(parseTable(faster).rows[0]![header.indexOf("decode p50")]).toMatch(/^40 ms .*\(−20\.0%, better\)$/);
  });

  it("says plainly when there is no baseline", () => {
    const none = renderReport(verdictOf({ baseline: { status: "missing", reason: "no successful run of bench.yml on main yet" } }));
    expect(none).toContain("**No baseline:** no successful run of bench.yml on main yet. Regression checks could not compare and did not pass.");
    expect(codeBlock(none, "mermaid")).not.toMatch(/line \[/);
  });

  it("shows a passing verdict with a green headline", () => {
    const pass = verdictOf({
      plan: [{ device: "rpi5", variant: "story-lm/int4" }],
      results: [result("rpi5", 40, "c1")],
      baseline: { status: "found", source: "run", results: [result("rpi5", 40, "b1")] },
    });
    const text = renderReport(pass, { marker: false });
    expect(text.startsWith("## ✅ slmops: every gate passed")).toBe(true);
    expect(text).not.toContain("### Checks that did not pass");
  });

  it("stays within the length limit, dropping the raw figures first", () => {
    const short = renderReport(verdict, { runUrl: "https://example.test/run/1", maxLength: markdown.length - 10 });
    expect(short.length).toBeLessThanOrEqual(markdown.length - 10);
    expect(short).toContain("Too long for a comment");
    expect(parseTable(short).rows).toHaveLength(3);
    const tiny = renderReport(verdict, { maxLength: 300 });
    expect(tiny.length).toBeLessThanOrEqual(300);
    expect(tiny).toMatch(/cut to fit/);
  });

  it("escapes text that would break the table or inject HTML", () => {
    expect(escapeMarkdown("a|b <!-- x -->\nc")).toBe("a\\|b &lt;!-- x --&gt;<br>c");
    const odd = verdictOf({ plan: [{ device: "rpi5", variant: "a|b" }], results: [{ ...result("rpi5", 40, "c"), variant: "a|b" }] });
    expect(parseTable(renderReport(odd)).rows[0]![1]).toBe("a\\|b");
    expect(renderChart(odd)).toContain('x-axis ["rpi5 · a|b"]');
  });

  it("neutralises mentions, bidi overrides, control characters, links, images and HTML in a failure message", () => {
    const hostile =
      "OOM @everyone @acme/maintainers cc user@example.com\u202eexe.txt\u001b[31m\u0007 |x| <img src=x onerror=alert(1)> " +
      "![pixel](https://evil.test/p.png) [click](https://evil.test) https://evil.test www.evil.test `code` **bold** $x$ fixes #12\n| a | b |";
    const verdict = verdictOf({ failures: [{ device: "pixel", variant: "story-lm/int4", message: hostile }] });
    const markdown = renderReport(verdict);
    const item = markdown.split("\n").find((l) => l.includes("could not benchmark"))!;
    expect(item).toBe(
      '- ❌ **pixel · story-lm/int4** — device "pixel" could not benchmark variant "story-lm/int4": ' +
        "OOM @&#8203;everyone @&#8203;acme/maintainers cc user@&#8203;example.com\\\\u202eexe.txt\\\\x1b\\[31m\\\\x07 \\|x\\| &lt;img src=x onerror=alert(1)&gt; " +
        "!\\[pixel\\](https\\://evil.test/p.png) \\[click\\](https\\://evil.test) https\\://evil.test www\\.evil.test \\`code\\` \\*\\*bold\\*\\* \\$x\\$ fixes #&#8203;12<br>\\| a \\| b \\|",
    );
    // Nothing outside the code blocks mentions anyone or reorders text.
    const prose = markdown.replace(/```[\s\S]*?```/g, "");
    expect(prose).not.toMatch(/@[a-z0-9]/i);
    expect([...markdown].filter((c) => "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u0007\u001b".includes(c))).toEqual([]);
    expect(parseTable(markdown).rows).toHaveLength(3);
  });

  it("keeps control characters and bidi overrides out of the chart and the raw figures", () => {
    const odd = verdictOf({ plan: [{ device: "rpi5\u202e", variant: "story-lm/int4" }], results: [{ ...result("rpi5\u202e", 40, "c"), device: "rpi5\u202e" }] });
    const markdown = renderReport(odd);
    expect(markdown).not.toContain("\u202e");
    expect(codeBlock(markdown, "mermaid")).toContain('x-axis ["rpi5\\\\u202e · story-lm/int4"]');
    expect(JSON.parse(codeBlock(markdown, "json")).pairs[0].device).toBe("rpi5\\u202e");
  });

  it("names results for a device or a variant the manifest lacks, apart from those merely not planned", () => {
    const extra = verdictOf({
      results: [result("rpi5", 44, "c1"), result("rpi6", 44, "c3"), { ...result("rpi5", 44, "c4"), variant: "story-lm/int3" }, result("nuc", 44, "c5")],
      known: { devices: ["rpi5", "jetson", "pixel", "nuc"], variants: ["story-lm/int4"] },
    });
    const markdown = renderReport(extra);
    expect(markdown).toContain("⚠️ **Not in the manifest, not gated:** rpi6 · story-lm/int4 (device not in the manifest), rpi5 · story-lm/int3 (variant not in the manifest).");
    expect(markdown).toContain("Not in the plan, not gated: nuc · story-lm/int4.");
    expect(JSON.parse(codeBlock(markdown, "json")).unplanned).toEqual([
      { device: "rpi6", variant: "story-lm/int4", reason: "unknown-device" },
      { device: "rpi5", variant: "story-lm/int3", reason: "unknown-variant" },
      { device: "nuc", variant: "story-lm/int4", reason: "not-planned" },
    ]);
  });
});
