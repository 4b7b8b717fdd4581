import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isConfigurationError } from "@slmops/diagnostics";
import { InvalidReportError, benchReportSchema, readReport, validateReport, writeReport } from "./report.js";
import type { BenchReport } from "./report.js";

const fingerprint = {
  "cpu-model": "Test CPU",
  "cpu-flags": ["avx2"],
  "logical-cores": 4,
  "physical-cores": 2,
  "memory-bytes": 8 * 1024 ** 3,
  os: "linux",
  "os-release": "6.1.0",
  arch: "x64",
  "node-version": "20.20.2",
  "onnxruntime-version": "1.30.0",
  "execution-providers": ["cpu"],
  "runner-labels": [],
  "cpu-governor": null,
  "cpu-temperature-celsius": null,
};

const report: BenchReport = {
  "schema-version": 1,
  "created-at": "2026-01-02T03:04:05.678Z",
  device: { id: "rpi5", fingerprint, session: { "execution-providers": ["cpu"], "intra-op-threads": 4, "inter-op-threads": 0, "graph-optimization-level": "all" } },
  settings: { warmup: 5, "min-iterations": 50, "min-duration-ms": 10000, "max-iterations": 100000, "prompt-tokens": 128, "generate-tokens": 64, seed: 0, "timeout-ms": 1800000 },
  models: [{ id: "story-lm", "source-sha256": "0".repeat(64) }],
  results: [
    { model: "story-lm", variant: "int4", status: "failed", failure: { kind: "timeout", message: "did not finish", "exit-code": null, signal: "SIGKILL" }, metrics: {} },
  ],
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-report-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("bench reports", () => {
  it("a valid report validates and round-trips through an atomic write", async () => {
    expect(validateReport(report)).toBe(report);
    const path = join(dir, "ok.json");
    await writeReport(path, report);
    expect(await readReport(path)).toEqual(report);
    expect(await readdir(dir)).toEqual(["ok.json"]);
  });

  it("a wrong schema version is refused with what to do", async () => {
    const path = join(dir, "v2.json");
    await writeFile(path, JSON.stringify({ ...report, "schema-version": 2 }));
    const error = await readReport(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidReportError);
    expect(isConfigurationError(error)).toBe(true);
    expect((error as Error).message).toBe(
      `${path}: bench report schema-version 2 is not supported (this slmops reads version 1); produce the report with a matching slmops version`,
    );
  });

  it("a tampered or invalid report names the offending place", async () => {
    const path = join(dir, "bad.json");
    const tampered = JSON.parse(JSON.stringify(report)) as { results: { status: string; metrics: Record<string, unknown> }[] };
    tampered.results[0]!.status = "great";
    tampered.results[0]!.metrics["latency-p50"] = -3;
    await writeFile(path, JSON.stringify(tampered));
    await expect(readReport(path)).rejects.toThrow(/\/results\/0\/status must be equal to one of the allowed values/);
    await expect(readReport(path)).rejects.toThrow(/\/results\/0\/metrics\/latency-p50 must be >= 0/);

    await writeFile(path, JSON.stringify({ ...report, extra: 1 }));
    await expect(readReport(path)).rejects.toThrow(/must NOT have additional properties \(`extra`\)/);

    await writeFile(path, '{"schema-version": 1, ');
    await expect(readReport(path)).rejects.toThrow(/not valid JSON .*damaged or not a bench report/);
    await writeFile(path, "[]");
    await expect(readReport(path)).rejects.toThrow(/not a bench report \(expected a JSON object\)/);
    await expect(readReport(join(dir, "absent.json"))).rejects.toThrow(/the bench report .*absent.json does not exist/);
  });

  it("a failed result must say why", () => {
    const noReason = { ...report, results: [{ model: "m", variant: "v", status: "failed", metrics: {} }] };
    expect(() => validateReport(noReason)).toThrow(/\/results\/0 must have required property 'failure'/);
  });

  it("an invalid report is never written", async () => {
    const path = join(dir, "never.json");
    const broken = { ...report, results: [{ model: "m", variant: "v", status: "ok" }] } as unknown as BenchReport;
    await expect(writeReport(path, broken)).rejects.toThrow(/refusing to write an invalid bench report .*must have required property 'metrics'/);
    expect(await readdir(dir)).not.toContain("never.json");
    expect((await readdir(dir)).some((f) => f.endsWith(".tmp"))).toBe(false);
  });

  it("the schema loaded is the one in schemas/", async () => {
    const shipped = JSON.parse(await readFile(new URL("../../../schemas/bench-report.schema.json", import.meta.url), "utf8")) as object;
    expect(benchReportSchema()).toEqual(shipped);
  });
});
