import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mountTmpfs } from "@slmops/atomic-file/testing";
import { readReport, validateReport } from "@slmops/bench";
import { optimizeModel } from "@slmops/optimize";
import { beforeAll, describe, expect, it } from "vitest";
import { binPath, hasStackTrace, repoRoot, runCli } from "../test-support/run-cli.js";

const EXAMPLE = join(repoRoot, "examples", "story-lm");
/** Quick run rules: the example's own settings take minutes. */
const QUICK = ["--warmup", "1", "--min-iterations", "3", "--min-duration", "200ms", "--prompt-tokens", "8", "--generate-tokens", "4"];

let project: string;

/** A copy of the example project with its int8 variant built where `slmops optimize` writes it. */
beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), "cli-bench-"));
  cpSync(EXAMPLE, project, { recursive: true, filter: (src) => !src.includes(".slmops") && !src.includes("/out") });
  await optimizeModel({ source: join(project, "models/story-lm/model.onnx"), passes: [{ quantize: { weights: "int8" } }], outDir: join(project, ".slmops/variants/story-lm/int8") });
}, 300_000);

describe("slmops bench (real child process, real ONNX Runtime, the example's model)", { timeout: 180_000 }, () => {
  it("benchmarks this machine as the ad-hoc device `local`, prints a table and writes a valid report", async () => {
    const r = runCli(["bench", "--variant", "int8", ...QUICK, "--out", "out/report.json"], { cwd: project });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("benchmarking 1 variant as device `local`");
    // The fp32 source is benchmarked first, as the row every variant is compared with.
    expect(r.stderr).toMatch(/✓ \[1\/2\] story-lm\/fp32 source/);
    expect(r.stderr).toMatch(/✓ \[2\/2\] story-lm\/int8/);
    expect(r.stdout).toMatch(/story-lm/);
    expect(r.stdout).toMatch(/int8/);
    expect(r.stdout).toContain("✓ 1 variant benchmarked on `local`; report written to out/report.json");
    const report = await readReport(join(project, "out", "report.json"));
    expect(report.device.id).toBe("local");
    expect(report.device.session["execution-providers"]).toEqual(["cpu"]);
    expect(report.device.session["intra-op-threads"]).toBe(0);
    expect(report.settings).toMatchObject({ warmup: 1, "min-iterations": 3, "min-duration-ms": 200, "prompt-tokens": 8, "generate-tokens": 4, seed: 1234 });
    const [source, result] = report.results;
    expect(source).toMatchObject({ model: "story-lm", variant: "fp32 source", status: "ok", "model-sha256": report.models[0]?.["source-sha256"] });
    expect(result).toMatchObject({ model: "story-lm", variant: "int8", status: "ok", kind: "decoder" });
    expect(result?.run?.iterations).toBeGreaterThanOrEqual(3);
    expect(result?.run?.["elapsed-ms"]).toBeGreaterThanOrEqual(200);
    expect(result?.accuracy?.positions).toBeGreaterThan(0);
    // The reference was computed once and is reused by the next run.
    expect(report.models[0]?.reference?.status).toBe("computed");
  });

  it("--json prints the report itself, with a named device's settings", () => {
    const r = runCli(["bench", "--device", "rpi5", "--variant", "story-lm/int8", ...QUICK, "--json"], { cwd: project });
    expect(r.status, r.stderr).toBe(0);
    const report = validateReport(JSON.parse(r.stdout), "stdout");
    expect(report.device.id).toBe("rpi5");
    expect(report.device.session["intra-op-threads"]).toBe(4);
    expect(report.device["memory-budget-bytes"]).toBe(2 * 1024 ** 3);
    expect(report.models[0]?.reference?.status).toBe("reused");
  });

  it.skipIf(!existsSync("/usr/bin/script"))("on a terminal, redraws one live progress line while measuring", () => {
    // util-linux `script` gives the CLI a pseudo-terminal, as a person's shell would.
    const command = [process.execPath, binPath, "bench", "--variant", "int8", ...QUICK.map((a) => (a === "200ms" ? "1s" : a))].join(" ");
    const r = spawnSync("/usr/bin/script", ["-qec", command, "/dev/null"], { cwd: project, encoding: "utf8", timeout: 120_000, env: { ...process.env, NO_COLOR: "1" } });
    expect(r.status, r.stdout).toBe(0);
    const redraws = r.stdout.split("\r\u001b[2K").filter((part) => part.startsWith("[2/2] story-lm/int8 measure"));
    expect(redraws.length).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/✓ \[2\/2\] story-lm\/int8/);
    expect(r.stdout).toContain("✓ 1 variant benchmarked on `local`");
  });

  it("says to run slmops optimize when a variant is not built", () => {
    const r = runCli(["bench", "--variant", "int4,int8", ...QUICK], { cwd: project });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error: story-lm/int4 is not built (no .slmops/variants/story-lm/int4/model.onnx). Run `slmops optimize` first.");
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(r.stdout).toBe("");
  });

  it("names the devices for an unknown device, and refuses a run-rule flag that is not a number or duration", () => {
    const unknown = runCli(["bench", "--device", "rpi4", ...QUICK], { cwd: project });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/no device `rpi4` in the manifest; its devices are `local`, `rpi5`, `jetson-orin-nano`, `nuc`/);
    const duration = runCli(["bench", "--min-duration", "fast"], { cwd: project });
    expect(duration.status).toBe(2);
    expect(duration.stderr).toMatch(/Option `--min-duration` must be a duration such as 500ms, 10s or 2m; got `fast`/);
    const iterations = runCli(["bench", "--min-iterations", "0"], { cwd: project });
    expect(iterations.status).toBe(2);
    expect(iterations.stderr).toContain("Option `--min-iterations` must be a positive whole number, at most 10000000; got `0`.");
    expect(hasStackTrace(duration.stderr + iterations.stderr)).toBe(false);
  });

  it("prints what it measured when --out cannot be written, then the error, and exits 1", () => {
    writeFileSync(join(project, "file"), "x");
    const table = runCli(["bench", "--variant", "int8", ...QUICK, "--out", "file/report.json"], { cwd: project });
    expect(table.status).toBe(1);
    expect(table.stdout).toMatch(/int8/);
    expect(table.stdout).toContain("✓ 1 variant benchmarked on `local`\n");
    expect(table.stdout).not.toContain("report written");
    expect(table.stderr).toContain(
      "error: cannot create the directory file (--out file/report.json): it exists and is not a directory (EEXIST)\n" +
        "  hint: pass another --out: a directory, or a path that does not exist yet\n",
    );
    expect(table.stderr).not.toContain("internal error");
    expect(hasStackTrace(table.stderr)).toBe(false);

    const json = runCli(["bench", "--variant", "int8", ...QUICK, "--json", "--out", "file/sub/report.json"], { cwd: project });
    expect(json.status).toBe(1);
    expect(validateReport(JSON.parse(json.stdout), "stdout").results[0]?.status).toBe("ok");
    // Inside the repository each directory on the way is checked in turn: the file is the one in the way.
    expect(json.stderr).toContain("error: cannot create the directory file (--out file/sub/report.json): it exists and is not a directory (EEXIST)\n");
  });

  it("a full (ENOSPC) or read-only (EROFS) file system for --out is the user's to fix, after the results", (context) => {
    const full = mountTmpfs({ size: "64k", full: true });
    if ("skip" in full) return context.skip(full.skip);
    const readOnly = mountTmpfs({ size: "64k", readOnly: true });
    try {
      const onFull = runCli(["bench", "--variant", "int8", ...QUICK, "--json", "--out", join(full.dir, "report.json")], { cwd: project });
      expect(onFull.status).toBe(1);
      // The fp32 source's row and the variant's: what was measured, printed although --out could not be written.
      expect(validateReport(JSON.parse(onFull.stdout), "stdout").results.map((r) => r.variant)).toEqual(["fp32 source", "int8"]);
      expect(onFull.stderr).toContain("no space left on the device (ENOSPC)\n  hint: free disk space, or pass another --out on another file system\n");
      expect(hasStackTrace(onFull.stderr)).toBe(false);
      if ("skip" in readOnly) return context.skip(readOnly.skip);
      const onReadOnly = runCli(["bench", "--variant", "int8", ...QUICK, "--out", join(readOnly.dir, "out", "report.json")], { cwd: project });
      expect(onReadOnly.status).toBe(1);
      expect(onReadOnly.stdout).toContain("✓ 1 variant benchmarked on `local`\n");
      expect(onReadOnly.stderr).toContain(`error: cannot create the directory ${join(readOnly.dir, "out")} (--out ${join(readOnly.dir, "out", "report.json")}): the file system is read-only (EROFS)\n`);
      expect(hasStackTrace(onReadOnly.stderr)).toBe(false);
    } finally {
      full.unmount();
      if (!("skip" in readOnly)) readOnly.unmount();
    }
  });

  it("is listed in slmops --help", () => {
    const r = runCli(["--help"]);
    expect(r.stdout).toMatch(/^\s+bench\s+benchmark the built variants on this machine/m);
    expect(readFileSync(join(repoRoot, "packages", "cli", "dist", "bin.js"), "utf8")).toContain("runBenchmark");
  });
});
