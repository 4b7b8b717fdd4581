import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isConfigurationError } from "@slmops/diagnostics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRandom } from "./random.js";
import { loadReportsDirectory, loadReportsFromFiles } from "./reports.js";
import { latencySamples, REALISTIC_NOISE } from "./test-support/latency.js";
import { benchReport, writeReports } from "./test-support/reports.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-gate-reports-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const decode = (seed: string) => latencySamples(createRandom(seed), 150, REALISTIC_NOISE);

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  expect(isConfigurationError(error)).toBe(true);
  return error as Error;
}

describe("loadReportsDirectory", () => {
  it("reads every device's report into results, failures and fingerprints", async () => {
    const reports = join(dir, "ok");
    await writeReports(reports, [
      benchReport("rpi5", [{ variant: "int4", decodeMs: decode("a") }, { variant: "int8", failed: "segmentation fault" }]),
      benchReport("nuc", [{ variant: "int4", decodeMs: decode("b") }], { arch: "x64", "cpu-model": "N100" }),
    ]);
    const loaded = await loadReportsDirectory(reports, "reports");
    expect(loaded.files).toEqual([
      { file: "reports/nuc.json", device: "nuc" },
      { file: "reports/rpi5.json", device: "rpi5" },
    ]);
    expect(loaded.results.map((r) => `${r.device} ${r.variant}`)).toEqual(["nuc story-lm/int4", "rpi5 story-lm/int4"]);
    expect(loaded.failures).toEqual([{ device: "rpi5", variant: "story-lm/int8", message: "crash: segmentation fault" }]);
    const rpi = loaded.results.find((r) => r.device === "rpi5")!;
    expect(rpi.samples?.["decode-latency"]).toHaveLength(150);
    expect(rpi.samples?.["tokens-per-second"]![0]).toBeCloseTo(1000 / rpi.samples!["decode-latency"]![0]!, 10);
    expect(rpi.fingerprint["cpu-temperature-celsius"]).toBeUndefined();
    expect(rpi.fingerprint["onnxruntime-version"]).toBe("1.30.0");
  });

  it("refuses a report whose percentiles were edited after it was written", async () => {
    const reports = join(dir, "tampered");
    const report = benchReport("rpi5", [{ variant: "int4", decodeMs: decode("a") }]);
    const edited = { ...report, results: [{ ...report.results[0]!, metrics: { ...report.results[0]!.metrics, "decode-latency-p50": 1 } }] };
    await writeReports(reports, [edited]);
    const loaded = await loadReportsDirectory(reports, "reports");
    expect(loaded.results).toEqual([]);
    expect(loaded.failures).toHaveLength(1);
    expect(loaded.failures[0]).toMatchObject({ device: "rpi5", variant: "story-lm/int4", refused: true });
    expect(loaded.failures[0]!.message).toMatch(/^reports\/rpi5\.json: story-lm\/int4: decode-latency-p50 is 1 but its 150 decode-ms samples give [\d.]+; the report was changed after the benchmark wrote it$/);
  });

  it("refuses a report of another schema version, naming the file as shown", async () => {
    const reports = join(dir, "version");
    await writeReports(reports, [{ ...benchReport("rpi5", []), "schema-version": 2 } as never]);
    const error = await errorOf(loadReportsDirectory(reports, "reports"));
    expect(error.message).toBe("reports/rpi5.json: bench report schema-version 2 is not supported (this slmops reads version 1); produce the report with a matching slmops version");
  });

  it("refuses damaged JSON", async () => {
    const reports = join(dir, "damaged");
    await writeReports(reports, []);
    await writeFile(join(reports, "rpi5.json"), '{"schema-version": 1, "device": ');
    expect((await errorOf(loadReportsDirectory(reports, "reports"))).message).toMatch(/^reports\/rpi5\.json: not valid JSON/);
  });

  it("refuses two reports of one device", async () => {
    const reports = join(dir, "twice");
    await writeReports(reports, [benchReport("rpi5", [])]);
    await writeFile(join(reports, "rpi5-again.json"), JSON.stringify(benchReport("rpi5", [])));
    expect((await errorOf(loadReportsDirectory(reports, "reports"))).message).toBe('reports: two reports for device "rpi5" (reports/rpi5-again.json and reports/rpi5.json); keep one report per device');
  });

  it("says plainly that a directory is missing", async () => {
    expect((await errorOf(loadReportsDirectory(join(dir, "absent"), "absent"))).message).toBe("absent: no such directory. Pass the directory the benchmark wrote its reports to.");
  });
});

describe("loadReportsFromFiles", () => {
  it("reads reports from an artifact's files and ignores other files", () => {
    const files = new Map([
      ["reports/rpi5.json", new TextEncoder().encode(JSON.stringify(benchReport("rpi5", [{ variant: "int4", decodeMs: decode("c") }])))],
      ["README.txt", new TextEncoder().encode("hello")],
    ]);
    const loaded = loadReportsFromFiles(files, "artifact");
    expect(loaded.results.map((r) => r.device)).toEqual(["rpi5"]);
  });

  it("refuses invalid UTF-8 or a report that is not one", () => {
    expect(() => loadReportsFromFiles(new Map([["x.json", new Uint8Array([0xff, 0xfe])]]), "artifact")).toThrow(/artifact: x.json: not valid JSON/);
    expect(() => loadReportsFromFiles(new Map([["x.json", new TextEncoder().encode("[]")]]), "artifact")).toThrow(/not a bench report/);
  });
});
