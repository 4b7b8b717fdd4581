/** The fp32 source's row of a bench report: cross-checked like every row, never gated as a variant. */
import { SOURCE_VARIANT_ID } from "@slmops/bench/versus-source";
import type { BenchReport } from "@slmops/bench/report";
import { describe, expect, it } from "vitest";
import { createRandom } from "./random.js";
import { loadReportsFromFiles, resultsFromReport } from "./reports.js";
import { latencySamples, REALISTIC_NOISE } from "./test-support/latency.js";
import { benchReport } from "./test-support/reports.js";

const decode = (seed: string, median = 150) => latencySamples(createRandom(seed), median, REALISTIC_NOISE);

describe("the fp32 source's row", () => {
  it("is not a variant: no result and no failure for it, the variants as before", () => {
    const report = benchReport("rpi5", [{ variant: SOURCE_VARIANT_ID, decodeMs: decode("s", 120) }, { variant: "int4", decodeMs: decode("a") }]);
    const { results, failures } = resultsFromReport(report, "rpi5.json");
    expect(results.map((r) => r.variant)).toEqual(["story-lm/int4"]);
    expect(failures).toEqual([]);
  });

  it("that failed on the device fails no gate", () => {
    const report = benchReport("rpi5", [{ variant: SOURCE_VARIANT_ID, failed: "out of memory" }, { variant: "int4", decodeMs: decode("a") }]);
    const { results, failures } = resultsFromReport(report, "rpi5.json");
    expect(results.map((r) => r.variant)).toEqual(["story-lm/int4"]);
    expect(failures).toEqual([]);
  });

  it("with a figure changed after the benchmark refuses the whole report", () => {
    const report = benchReport("rpi5", [{ variant: SOURCE_VARIANT_ID, decodeMs: decode("s", 120) }, { variant: "int4", decodeMs: decode("a") }]);
    const [source, int4] = report.results;
    const tampered: BenchReport = { ...report, results: [{ ...source!, metrics: { ...source!.metrics, "decode-latency-p50": 1 } }, int4!] };
    const { results, failures } = resultsFromReport(tampered, "rpi5.json");
    expect(results).toEqual([]);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ variant: "story-lm/int4", refused: true, message: expect.stringContaining(`story-lm/${SOURCE_VARIANT_ID}: decode-latency-p50 is 1 but`) });
  });

  it("of a refused report gives the report no context: its figures are not shown as measured", () => {
    const report = benchReport("rpi5", [{ variant: SOURCE_VARIANT_ID, decodeMs: decode("s", 120) }, { variant: "int4", decodeMs: decode("a") }]);
    const [source, int4] = report.results;
    const tampered: BenchReport = { ...report, results: [{ ...source!, metrics: { ...source!.metrics, "decode-latency-p50": 1 } }, int4!] };
    const encode = (r: BenchReport) => new TextEncoder().encode(JSON.stringify(r));
    const honest = loadReportsFromFiles(new Map([["rpi5.json", encode(report)]]), "reports");
    expect(honest.reports.map((r) => r.device.id)).toEqual(["rpi5"]);
    const loaded = loadReportsFromFiles(new Map([["rpi5.json", encode(tampered)]]), "reports");
    expect(loaded.files.map((f) => f.device)).toEqual(["rpi5"]);
    expect(loaded.reports).toEqual([]);
  });
});
