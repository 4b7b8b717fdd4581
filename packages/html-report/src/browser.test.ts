/**
 * The HTML report opened in a real headless Chromium: it renders without a
 * console error, its table rows and charts are there with non-zero bars and
 * their tooltips, and it attempts no network request. A screenshot is saved
 * under `test-artifacts/` for a person to look at.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderHtmlReport } from "./render-html.js";
import { sampleVerdict } from "./test-support/reports.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = join(dirname(dirname(fileURLToPath(import.meta.url))), "test-artifacts");
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// Missing Chromium is an environment problem said plainly, never a silent skip.
if (!existsSync(CHROMIUM)) {
  throw new Error(`Chromium is not installed at ${CHROMIUM}: install it (Debian: \`apt-get install -y chromium\`) or set CHROMIUM_PATH; this test opens the HTML report in it`);
}

let browser: Browser;
let dir: string;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  dir = await mkdtemp(join(tmpdir(), "slmops-html-report-"));
});
afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the HTML report in Chromium", () => {
  it("renders, its charts have data, and it asks the network for nothing", async () => {
    const { verdict, reports } = sampleVerdict();
    const file = join(dir, "report.html");
    await writeFile(file, renderHtmlReport(verdict, { context: { reports } }));
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (err) => errors.push(err.message));
    page.on("request", (r) => {
      if (r.url() !== pathToFileURL(file).href) requests.push(r.url());
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });

    expect(await page.title()).toBe("slmops: a gate failed");
    const pairs = await page.locator("#verdict tbody tr").allTextContents();
    expect(pairs).toHaveLength(2);
    expect(pairs[0]).toMatch(/^rpi5story-lm\/int8/);
    const rows = await page.locator("table.versus tbody tr").allTextContents();
    expect(rows.map((r) => r.split(/\s|\d/)[0])).toEqual(["story-lm/fp", "story-lm/int", "story-lm/int"]);
    expect(rows[2]).toContain("slower than fp32");

    const charts = page.locator("figure.chart");
    expect(await charts.count()).toBeGreaterThanOrEqual(2);
    const caption = await charts.first().locator("figcaption").textContent();
    expect(caption).toBe("Decode latency p50 per variant (ms, lower is better)");
    const bars = await charts.first().locator("rect.bar").evaluateAll((rects) =>
      rects.map((r) => ({ width: r.getBoundingClientRect().width, height: r.getBoundingClientRect().height, tip: r.querySelector("title")?.textContent ?? "" })),
    );
    expect(bars.map((b) => b.tip)).toEqual([
      expect.stringMatching(/^rpi5 · story-lm\/fp32 \(source\): [\d.]+ ms$/),
      expect.stringMatching(/^rpi5 · story-lm\/int8: [\d.]+ ms \(baseline [\d.]+ ms\)$/),
      expect.stringMatching(/^rpi5 · story-lm\/int4: [\d.]+ ms \(baseline [\d.]+ ms\)$/),
    ]);
    for (const b of bars) {
      expect(b.width).toBeGreaterThan(10);
      expect(b.height).toBeGreaterThan(10);
    }
    // int4 (12.5 ms) is drawn longer than fp32 (10 ms): lengths follow the values from a zero axis.
    expect(bars[2]!.width / bars[0]!.width).toBeCloseTo(1.25, 1);

    // Hovering a bar shows it is live (its fill changes).
    const bar = charts.first().locator("rect.bar").nth(1);
    const before = await bar.evaluate((r) => (globalThis as unknown as { getComputedStyle(e: unknown): { fill: string } }).getComputedStyle(r).fill);
    await bar.hover();
    expect(await bar.evaluate((r) => (globalThis as unknown as { getComputedStyle(e: unknown): { fill: string } }).getComputedStyle(r).fill)).not.toBe(before);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "html-report.png"), fullPage: true });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });
});
