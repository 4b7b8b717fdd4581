import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadManifestOrThrow } from "@slmops/manifest";
import { describe, expect, it } from "vitest";
import { gatesFromManifest, planFromManifest } from "./manifest-gates.js";

const example = join(import.meta.dirname, "..", "..", "..", "examples", "story-lm", "slmops.yaml");
const lines = readFileSync(example, "utf8").split("\n");
const lineOf = (text: string) => lines.findIndex((l) => l.includes(text)) + 1;

describe("the example manifest's gates", async () => {
  const loaded = await loadManifestOrThrow(example, { checkFiles: false });

  it("plans every device × variant pair", () => {
    const plan = planFromManifest(loaded.manifest);
    expect(plan).toHaveLength(loaded.manifest.devices.length * 5);
    expect(plan).toContainEqual({ device: "rpi5", variant: "story-lm/int4" });
    expect(plan).toContainEqual({ device: "jetson-orin-nano", variant: "story-lm/pruned-int8" });
  });

  it("turns limits into base units, with the line each is written on", () => {
    const [edge, accuracy, jetson] = gatesFromManifest(loaded);
    expect(edge!.name).toBe("edge latency and memory");
    expect(edge!.devices).toEqual(["rpi5", "nuc"]);
    expect(edge!.variants).toEqual(["story-lm/int4", "story-lm/int8"]);
    expect(edge!.limits).toEqual({
      "decode-latency-p90": { max: 40 },
      ttft: { max: 500 },
      "peak-memory": { max: 512 * 1024 * 1024 },
      "model-size": { max: 256 * 1024 * 1024 },
      "load-time": { max: 2000 },
    });
    expect(edge!.regression).toEqual({ metric: "decode-latency-p50", maxChange: 0.05, confidence: 0.95 });
    expect(edge!.limitLocations!["peak-memory"]).toEqual({ file: "slmops.yaml", line: lineOf("peak-memory: { max: 512MiB }"), column: lines[lineOf("peak-memory: { max: 512MiB }") - 1]!.indexOf("{") + 1 });
    expect(edge!.regressionLocation!.line).toBe(lineOf("regression: { metric: decode-latency-p50"));
    expect(accuracy!.limits!["top-1-agreement"]).toEqual({ min: 0.9 });
    expect(jetson!.regression).toEqual({ metric: "tokens-per-second", maxChange: 0.05, confidence: 0.95 });
    expect(jetson!.allowFingerprintMismatch).toBe(false);
  });
});
