import { describe, expect, it } from "vitest";
import { collectFingerprint, cpuFeatures, parseCpuInfo, runnerLabels } from "./fingerprint.js";
import { validateReport } from "./report.js";

describe("device fingerprint", () => {
  it("parses x86 /proc/cpuinfo: model, flags, physical cores", () => {
    const text = [
      "processor\t: 0", "model name\t: Example CPU @ 3.00GHz", "physical id\t: 0", "core id\t\t: 0", "flags\t\t: fpu sse avx2",
      "", "processor\t: 1", "model name\t: Example CPU @ 3.00GHz", "physical id\t: 0", "core id\t\t: 0", "flags\t\t: fpu sse avx2",
      "", "processor\t: 2", "model name\t: Example CPU @ 3.00GHz", "physical id\t: 0", "core id\t\t: 1", "flags\t\t: fpu sse avx2",
    ].join("\n");
    expect(parseCpuInfo(text)).toEqual({ flags: ["avx2", "fpu", "sse"], model: "Example CPU @ 3.00GHz", physicalCores: 2 });
  });

  it("parses Arm /proc/cpuinfo features", () => {
    const text = "processor\t: 0\nFeatures\t: fp asimd evtstrm crc32\nCPU part\t: 0xd0b\n\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n";
    expect(parseCpuInfo(text)).toEqual({ flags: ["asimd", "crc32", "evtstrm", "fp"], model: "Raspberry Pi 5 Model B Rev 1.0", physicalCores: undefined });
  });

  it("names the CPU features quantized models use, from x86 flags and Arm features", () => {
    expect(cpuFeatures(["fpu", "sse4_2", "avx2", "fma", "avx512f", "avx512_vnni", "avx512vl"])).toEqual(["sse4_2", "avx2", "fma", "avx512f", "avx512_vnni"]);
    const rpi5 = parseCpuInfo("Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\n").flags;
    expect(cpuFeatures(rpi5)).toEqual(["neon", "fp16", "dotprod"]);
    expect(cpuFeatures([])).toEqual([]);
  });

  it("takes runner labels from the caller, else RUNNER_LABELS", () => {
    expect(runnerLabels(["a"], { RUNNER_LABELS: "x" })).toEqual(["a"]);
    expect(runnerLabels(undefined, { RUNNER_LABELS: "self-hosted, linux arm64,rpi5" })).toEqual(["self-hosted", "linux", "arm64", "rpi5"]);
    expect(runnerLabels(undefined, {})).toEqual([]);
  });

  it("describes this machine in a form the report schema accepts", async () => {
    const fp = await collectFingerprint(["here"]);
    expect(fp["logical-cores"]).toBeGreaterThan(0);
    expect(fp["memory-bytes"]).toBeGreaterThan(0);
    expect(fp["execution-providers"]).toContain("cpu");
    expect(fp["onnxruntime-version"]).toMatch(/^\d+\.\d+\.\d+/);
    expect(fp.arch).toBe(process.arch);
    if (process.platform === "linux") expect(fp["cpu-flags"].length).toBeGreaterThan(0);
    const report = {
      "schema-version": 1,
      "created-at": new Date().toISOString(),
      device: { id: "d", fingerprint: fp, session: { "execution-providers": ["cpu"], "intra-op-threads": 0, "inter-op-threads": 0, "graph-optimization-level": "all" } },
      settings: { warmup: 0, "min-iterations": 1, "min-duration-ms": 0, "max-iterations": 1, "prompt-tokens": 1, "generate-tokens": 0, seed: 0, "timeout-ms": 1 },
      models: [],
      results: [],
    };
    expect(() => validateReport(report)).not.toThrow();
  });
});
