import { describe, expect, it } from "vitest";
import { readFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { details, diagnosticsTable, escapeHtml, SUMMARY_LIMIT_BYTES, table, writeSummary } from "./summary.js";

describe("summary fragments", () => {
  it("escapes every piece of text so user content cannot inject markup", () => {
    expect(escapeHtml(`<script>"a" & 'b'</script>`)).toBe("&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;");
    const html = table(["a<b"], [["<img src=x>", 3]]);
    expect(html).toContain("<th>a&lt;b</th>");
    expect(html).toContain("<td>&lt;img src=x&gt;</td><td>3</td>");
    expect(html).not.toContain("<img");
    expect(details("x & y", html)).toMatch(/^<details><summary>x &amp; y<\/summary>/);
  });

  it("lists diagnostics sorted, workspace-relative, and caps the rows", () => {
    const diagnostics = [5, 1, 3].map((line) => ({
      severity: "error" as const,
      code: "c",
      message: `problem at ${line}`,
      file: "/ws/slmops.yaml",
      line,
      column: 2,
      hint: line === 1 ? "did you mean `rpi5`?" : undefined,
    }));
    const html = diagnosticsTable(diagnostics, { workspace: "/ws", maxRows: 2 });
    expect(html.indexOf("problem at 1")).toBeLessThan(html.indexOf("problem at 3"));
    expect(html).toContain("<code>slmops.yaml:1:2</code>");
    expect(html).toContain("did you mean `rpi5`?");
    expect(html).not.toContain("problem at 5");
    expect(html).toContain("… and 1 more");
  });

  it("appends to GITHUB_STEP_SUMMARY and stops before GitHub's 1 MiB limit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "summary-"));
    const file = join(dir, "summary.md");
    writeFileSync(file, "before\n");
    const big = "x".repeat(400 * 1024);
    expect(await writeSummary(["<h2>one</h2>\n", big, big, big], { GITHUB_STEP_SUMMARY: file })).toBe(true);
    const written = readFileSync(file, "utf8");
    expect(written.startsWith("before\n<h2>one</h2>\n")).toBe(true);
    expect(Buffer.byteLength(written)).toBeLessThanOrEqual(SUMMARY_LIMIT_BYTES + 7);
    expect(written.endsWith("would exceed GitHub&#39;s 1 MiB limit. See the log.</p>\n")).toBe(true);
    expect(written.split(big).length - 1).toBe(2);
  });

  it("writes nothing outside GitHub Actions", async () => {
    expect(await writeSummary(["x"], {})).toBe(false);
  });
});
