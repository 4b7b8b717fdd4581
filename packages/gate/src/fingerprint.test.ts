import { describe, expect, it } from "vitest";
import { compareFingerprints, describeFingerprintDifferences } from "./fingerprint.js";

const rpi = { cpu: "Cortex-A76", cores: 4, memory: 8589934592, os: "linux 6.6", arch: "arm64", runtime: { onnxruntime: "1.30.0", providers: ["cpu"] }, labels: ["self-hosted", "rpi5"], hostname: "rpi-a" };

describe("compareFingerprints", () => {
  it("finds no difference in equal fingerprints, ignoring host names and list order", () => {
    expect(compareFingerprints(rpi, { ...rpi, hostname: "rpi-b", labels: ["rpi5", "self-hosted"] })).toEqual([]);
  });

  it("names each field that differs, nested ones by dotted path", () => {
    const other = { ...rpi, cores: 8, runtime: { onnxruntime: "1.31.0", providers: ["cpu"] } };
    const differences = compareFingerprints(rpi, other);
    expect(differences.map((d) => d.key)).toEqual(["cores", "runtime.onnxruntime"]);
    expect(describeFingerprintDifferences(differences)).toBe('cores: 4 on the baseline, 8 now; runtime.onnxruntime: "1.30.0" on the baseline, "1.31.0" now');
  });

  it("treats a missing field as a difference", () => {
    const { os: _os, ...withoutOs } = rpi;
    expect(compareFingerprints(rpi, withoutOs)).toEqual([{ key: "os", baseline: '"linux 6.6"', candidate: "(missing)" }]);
  });
});
