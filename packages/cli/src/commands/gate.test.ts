import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mountTmpfs } from "@slmops/atomic-file/testing";
import { describe, expect, it } from "vitest";
import type { Io } from "../io.js";
import { main } from "../main.js";

function memoryIo(cwd: string): Io & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    env: {},
    cwd,
    stdoutIsTTY: false,
    stderrIsTTY: false,
    out: () => out,
    err: () => err,
  };
}

const MANIFEST = `version: 1
models:
  - id: story-lm
    source: models/story-lm/model.onnx
    kind: decoder
    variants:
      - id: int4
        passes: [ { quantize: { weights: int4 } } ]
devices:
  - id: rpi5
    runs-on: [self-hosted, rpi5]
    execution-providers: [cpu]
  - id: nuc
    runs-on: [self-hosted, nuc]
    execution-providers: [cpu]
gates:
  - name: edge
    require:
      peak-memory: { max: 512MiB }
      regression: { metric: model-size, max-increase: 5% }
`;

/** The blocks the benchmark derives these metrics from, so the gate's cross-check holds. */
function sources(metrics: Record<string, number>): Record<string, unknown> {
  return {
    ...(metrics["peak-memory"] !== undefined ? { memory: { "peak-rss-bytes": metrics["peak-memory"], "baseline-rss-bytes": 0 } } : {}),
    ...(metrics["model-size"] !== undefined ? { "model-size-bytes": metrics["model-size"] } : {}),
  };
}

function report(device: string, metrics: Record<string, number>): unknown {
  return {
    "schema-version": 1,
    "created-at": "2026-01-02T03:04:05.678Z",
    device: {
      id: device,
      fingerprint: {
        "cpu-model": "cpu",
        "cpu-flags": [],
        "logical-cores": 4,
        "physical-cores": 4,
        "memory-bytes": 4294967296,
        os: "linux",
        "os-release": "6.6",
        arch: "arm64",
        "node-version": "20.20.2",
        "onnxruntime-version": "1.30.0",
        "execution-providers": ["cpu"],
        "runner-labels": [],
        "cpu-governor": null,
        "cpu-temperature-celsius": null,
      },
      session: { "execution-providers": ["cpu"], "intra-op-threads": 4, "inter-op-threads": 0, "graph-optimization-level": "all" },
    },
    settings: { warmup: 5, "min-iterations": 50, "min-duration-ms": 10000, "max-iterations": 100000, "prompt-tokens": 128, "generate-tokens": 64, seed: 0, "timeout-ms": 1800000 },
    models: [{ id: "story-lm", "source-sha256": "0".repeat(64) }],
    results: [{ model: "story-lm", variant: "int4", status: "ok", ...sources(metrics), metrics }],
  };
}

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), "slmops-gate-cli-"));
  writeFileSync(join(dir, "slmops.yaml"), MANIFEST);
  return dir;
}

function writeReports(dir: string, reports: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, value] of Object.entries(reports)) writeFileSync(join(dir, name), typeof value === "string" ? value : JSON.stringify(value));
}

const MiB = 1024 * 1024;

// The first run loads the bench reader (and ONNX Runtime through it); on a
// loaded machine that takes seconds.
describe("slmops gate", { timeout: 60_000 }, () => {
  it("passes when every planned device reported within its gates, compared with the baseline", async () => {
    const dir = project();
    writeReports(join(dir, "base"), { "rpi5.json": report("rpi5", { "peak-memory": 300 * MiB, "model-size": 20 * MiB }), "nuc.json": report("nuc", { "peak-memory": 300 * MiB, "model-size": 20 * MiB }) });
    writeReports(join(dir, "out"), { "rpi5.json": report("rpi5", { "peak-memory": 310 * MiB, "model-size": 20 * MiB }), "nuc.json": report("nuc", { "peak-memory": 290 * MiB, "model-size": 20.5 * MiB }) });
    const io = memoryIo(dir);
    const code = await main(["gate", "out", "--baseline", "base"], io);
    expect(io.err()).toBe("");
    expect(code).toBe(0);
    expect(io.out().split("\n")[0]).toBe("✓ gate passed: 2 of 2 requirements applied to rpi5, 2 of 2 to nuc; all 4 checks passed (baseline: base)");
    expect(io.out()).toContain("    ✓ model-size changed +2.50%, which is within the allowed +5.00% increase (slmops.yaml:20:19)");
  });

  it("fails a missing device, writes JSON and a Markdown report", async () => {
    const dir = project();
    writeReports(join(dir, "out"), { "rpi5.json": report("rpi5", { "peak-memory": 600 * MiB, "model-size": 20 * MiB }) });
    const io = memoryIo(dir);
    const code = await main(["gate", "out", "--json", "--markdown", "report.md"], io);
    expect(code).toBe(1);
    const json = JSON.parse(io.out()) as { outcome: string; verdict: { checks: { message: string; outcome: string }[] } };
    expect(json.outcome).toBe("fail");
    expect(json.verdict.checks.map((c) => `${c.outcome}: ${c.message}`)).toEqual([
      "fail: peak-memory is 600MiB, above the maximum 512MiB",
      "inconclusive: no baseline to compare model-size with: no baseline reports were given (pass --baseline <dir>)",
      'fail: device "nuc" did not report variant "story-lm/int4"',
    ]);
    const markdown = readFileSync(join(dir, "report.md"), "utf8");
    expect(markdown.split("\n")[0]).toBe("## ❌ slmops: a gate failed");
    expect(markdown).toContain("| nuc | story-lm/int4 | ❌ did not report |");
  });

  it("exits 1 on an inconclusive verdict unless it is allowed", async () => {
    const dir = project();
    writeReports(join(dir, "out"), { "rpi5.json": report("rpi5", { "peak-memory": 300 * MiB, "model-size": 20 * MiB }), "nuc.json": report("nuc", { "peak-memory": 300 * MiB, "model-size": 20 * MiB }) });
    const strict = memoryIo(dir);
    expect(await main(["gate", "out"], strict)).toBe(1);
    expect(strict.out()).toContain("? gate inconclusive");
    expect(await main(["gate", "out", "--allow-inconclusive"], memoryIo(dir))).toBe(0);
  });

  it("gates only the devices named with --device, and refuses an unknown one", async () => {
    const dir = project();
    writeReports(join(dir, "base"), { "rpi5.json": report("rpi5", { "peak-memory": 300 * MiB, "model-size": 20 * MiB }) });
    writeReports(join(dir, "out"), { "rpi5.json": report("rpi5", { "peak-memory": 300 * MiB, "model-size": 20 * MiB }) });
    const io = memoryIo(dir);
    expect(await main(["gate", "out", "--baseline", "base", "--device", "rpi5"], io)).toBe(0);
    expect(io.out()).not.toContain("nuc");
    // Without --device, nuc is planned and did not report.
    expect(await main(["gate", "out", "--baseline", "base"], memoryIo(dir))).toBe(1);
    const unknown = memoryIo(dir);
    expect(await main(["gate", "out", "--device", "rpi6"], unknown)).toBe(1);
    expect(unknown.err()).toBe("error: unknown device `rpi6`: the manifest's devices are `rpi5`, `nuc`, and this machine is the ad-hoc device `local`\n");
  });

  it("fails a device whose report's metrics were edited into passing, saying so, without an error", async () => {
    const dir = project();
    const edited = report("rpi5", { "peak-memory": 300 * MiB, "model-size": 20 * MiB }) as { results: { metrics: Record<string, number> }[] };
    edited.results[0]!.metrics["peak-memory"] = 100 * MiB;
    writeReports(join(dir, "out"), { "rpi5.json": edited, "nuc.json": report("nuc", { "peak-memory": 300 * MiB, "model-size": 20 * MiB }) });
    const io = memoryIo(dir);
    expect(await main(["gate", "out", "--allow-inconclusive"], io)).toBe(1);
    expect(io.err()).toBe("");
    expect(io.out()).toContain(
      `    ✗ the report of device "rpi5" for variant "story-lm/int4" was refused: out/rpi5.json: story-lm/int4: peak-memory is ${100 * MiB} but memory.peak-rss-bytes is ${300 * MiB}; the report was changed after the benchmark wrote it\n`,
    );
  });

  it("prints a report's failure message with its control characters escaped", async () => {
    const dir = project();
    const crashed = report("rpi5", {}) as { results: unknown[] };
    crashed.results = [{ model: "story-lm", variant: "int4", status: "failed", failure: { kind: "crash", message: "oom\u001b]0;owned\u0007\n✓ gate passed\u001b[2K\r\u202e" }, metrics: {} }];
    writeReports(join(dir, "out"), { "rpi5.json": crashed });
    const io = memoryIo(dir);
    expect(await main(["gate", "out", "--device", "rpi5"], io)).toBe(1);
    expect(io.out()).toContain('    ✗ device "rpi5" could not benchmark variant "story-lm/int4": crash: oom\\x1b]0;owned\\x07\\n✓ gate passed\\x1b[2K\\r\\u202e\n');
    expect([...io.out()].filter((c) => c !== "\n" && (c.charCodeAt(0) < 0x20 || c === "\u202e"))).toEqual([]);
  });

  it("names a report for a device the manifest lacks, in the text and the JSON", async () => {
    const dir = project();
    const reports = { "rpi5.json": report("rpi5", { "peak-memory": 300 * MiB, "model-size": 20 * MiB }), "rpi6.json": report("rpi6", { "peak-memory": 300 * MiB }) };
    writeReports(join(dir, "out"), reports);
    const text = memoryIo(dir);
    await main(["gate", "out", "--device", "rpi5"], text);
    expect(text.out()).toContain("  ! rpi6 · story-lm/int4: device not in the manifest, its report was not gated\n");
    const json = memoryIo(dir);
    await main(["gate", "out", "--device", "rpi5", "--json"], json);
    expect((JSON.parse(json.out()) as { verdict: { unplanned: unknown[] } }).verdict.unplanned).toEqual([{ device: "rpi6", variant: "story-lm/int4", reason: "unknown-device" }]);
  });

  it("names a damaged report and what to do, without a stack trace", async () => {
    const dir = project();
    writeReports(join(dir, "out"), { "rpi5.json": '{"schema-version": 1,' });
    const io = memoryIo(dir);
    expect(await main(["gate", "out"], io)).toBe(1);
    expect(io.err()).toMatch(/^error: out\/rpi5\.json: not valid JSON .*the file is damaged or not a bench report\n$/);
  });

  it("says plainly when there is no manifest", async () => {
    const dir = mkdtempSync(join(tmpdir(), "slmops-gate-cli-"));
    const io = memoryIo(dir);
    expect(await main(["gate", "out"], io)).toBe(1);
    expect(io.err()).toBe(`error: No slmops.yaml in ${dir} or a directory above it. Run slmops in the repository that holds it, or pass --manifest path/to/slmops.yaml.\n`);
  });
});

describe("slmops gate --markdown where it cannot be written", { timeout: 60_000 }, () => {
  const failing = () => {
    const dir = project();
    writeReports(join(dir, "out"), { "rpi5.json": report("rpi5", { "peak-memory": 600 * MiB, "model-size": 20 * MiB }) });
    return dir;
  };

  it("prints the verdict first, then the error, and exits 1: a path under a regular file", async () => {
    const dir = failing();
    writeFileSync(join(dir, "file"), "x");
    const io = memoryIo(dir);
    expect(await main(["gate", "out", "--markdown", "file/report.md"], io)).toBe(1);
    expect(io.out()).toContain("gate failed");
    expect(io.out()).toContain("peak-memory is 600MiB, above the maximum 512MiB");
    expect(io.err()).toBe(
      "error: cannot create the directory file (--markdown file/report.md): it exists and is not a directory (EEXIST)\n" +
        "  hint: pass another --markdown: a directory, or a path that does not exist yet\n",
    );
  });

  it("a missing directory is created, as for bench --out, with --json on stdout", async () => {
    const dir = failing();
    const io = memoryIo(dir);
    expect(await main(["gate", "out", "--json", "--markdown", "missing/report.md"], io)).toBe(1);
    expect((JSON.parse(io.out()) as { outcome: string }).outcome).toBe("fail");
    expect(io.err()).toBe("");
    expect(readFileSync(join(dir, "missing", "report.md"), "utf8").split("\n")[0]).toBe("## ❌ slmops: a gate failed");
  });

  it("a full file system (ENOSPC) and a read-only one (EROFS), even when the gate passed", async (context) => {
    const full = mountTmpfs({ size: "64k", full: true });
    if ("skip" in full) return context.skip(full.skip);
    const readOnly = mountTmpfs({ size: "64k", readOnly: true });
    try {
      const dir = project();
      writeReports(join(dir, "out"), { "rpi5.json": report("rpi5", { "peak-memory": 300 * MiB, "model-size": 20 * MiB }), "nuc.json": report("nuc", { "peak-memory": 300 * MiB, "model-size": 20 * MiB }) });
      const io = memoryIo(dir);
      const markdown = join(full.dir, "report.md");
      expect(await main(["gate", "out", "--allow-inconclusive", "--markdown", markdown], io)).toBe(1);
      expect(io.out()).toContain("? gate inconclusive");
      expect(io.err()).toBe(`error: cannot write ${markdown} (--markdown ${markdown}): no space left on the device (ENOSPC)\n  hint: free disk space, or pass another --markdown on another file system\n`);
      if ("skip" in readOnly) return context.skip(readOnly.skip);
      const again = memoryIo(dir);
      expect(await main(["gate", "out", "--allow-inconclusive", "--markdown", join(readOnly.dir, "report.md")], again)).toBe(1);
      expect(again.out()).toContain("? gate inconclusive");
      expect(again.err()).toContain("the file system is read-only (EROFS)\n  hint: pass another --markdown on a writable file system\n");
    } finally {
      full.unmount();
      if (!("skip" in readOnly)) readOnly.unmount();
    }
  });
});
