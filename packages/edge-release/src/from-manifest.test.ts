import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";
import { parseHealthCheck, runHealthCheck } from "@slmops/health-check";
import { loadManifestOrThrow } from "@slmops/manifest";
import { PRESETS, makeModel } from "@slmops/model-maker";
import { DataType, encodeModel, makeGraph, makeModel as makeOnnxModel, makeNode, makeValueInfo } from "@slmops/onnx";
import { describe, expect, it } from "vitest";
import { readGateVerdict, refuseUnlessPassed, releasesFromManifest, verdictFor } from "./from-manifest.js";
import { signableJson, type Release } from "./release.js";

const MANIFEST = `version: 1
models:
  - id: story-lm
    source: model.onnx
    kind: decoder
    variants:
      - id: int8
        passes: [ { quantize: { weights: int8 } } ]
devices:
  - id: rpi5
    runs-on: [self-hosted, rpi5]
    execution-providers: [cpu]
release:
  channel: stable
  targets: { rpi5: int8 }
  rollout:
    stages: [ { percent: 5, soak: 24h }, { percent: 100 } ]
`;

const WORDING = { verdict: "--verdict", force: "--force" };
const dir = () => mkdtempSync(join(tmpdir(), "from-manifest-"));
const releaseWith = (outcome: "pass" | "fail" | "inconclusive"): Release =>
  ({ targets: [{ deviceClass: "rpi5", verdict: { outcome, figures: {} } }] }) as unknown as Release;

describe("from-manifest", () => {
  it("reads a gate verdict's pairs and refuses a file that is not one, naming it as given", async () => {
    const d = dir();
    writeFileSync(join(d, "v.json"), JSON.stringify({ verdict: { pairs: [{ device: "rpi5", variant: "story-lm/int8", outcome: "pass", metrics: { "decode-latency-p90": 31, note: "x" } }] } }));
    writeFileSync(join(d, "bad.json"), "{ not json");
    writeFileSync(join(d, "other.json"), JSON.stringify({ verdict: {} }));
    const pairs = await readGateVerdict(join(d, "v.json"), "v.json");
    expect(verdictFor(pairs, "rpi5", "story-lm", "int8")).toEqual({ outcome: "pass", figures: { "decode-latency-p90": 31 } });
    expect(verdictFor(pairs, "nuc", "story-lm", "int8")).toEqual({ outcome: "inconclusive", figures: {} });
    await expect(readGateVerdict(join(d, "bad.json"), "bad.json")).rejects.toThrow(/bad\.json is not JSON/);
    await expect(readGateVerdict(join(d, "other.json"), "other.json")).rejects.toThrow(/other\.json is not a gate verdict/);
  });

  it("holds a verdict to the build it judged: another build's pass is inconclusive, with why", () => {
    const [built, rebuilt] = ["a".repeat(64), "b".repeat(64)];
    const pairs = [{ device: "rpi5", variant: "story-lm/int8", outcome: "pass", metrics: { "decode-latency-p90": 31 }, modelSha256: built }];
    expect(verdictFor(pairs, "rpi5", "story-lm", "int8", built)).toEqual({ outcome: "pass", figures: { "decode-latency-p90": 31 } });
    const stale = verdictFor(pairs, "rpi5", "story-lm", "int8", rebuilt);
    expect(stale).toMatchObject({ outcome: "inconclusive", figures: {} });
    expect(stale.note).toBe("the gate judged another build of story-lm/int8 (sha256 aaaaaaaaaaaa…), not the one here (bbbbbbbbbbbb…); benchmark and gate this build");
    const release = { targets: [{ deviceClass: "rpi5", verdict: stale }] } as unknown as Release;
    expect(() => refuseUnlessPassed([release], { force: false, verdictGiven: true, wording: WORDING })).toThrow(/rpi5 \(inconclusive: the gate judged another build of story-lm\/int8/);
    // A verdict from a gate that recorded no digest is taken as it is.
    expect(verdictFor([{ ...pairs[0]!, modelSha256: undefined }], "rpi5", "story-lm", "int8", rebuilt).outcome).toBe("pass");
  });

  it("refuses a release whose gate did not pass unless forced, in the caller's words", () => {
    expect(() => refuseUnlessPassed([releaseWith("pass")], { force: false, verdictGiven: true, wording: WORDING })).not.toThrow();
    expect(() => refuseUnlessPassed([releaseWith("fail")], { force: true, verdictGiven: true, wording: WORDING })).not.toThrow();
    expect(() => refuseUnlessPassed([releaseWith("fail")], { force: false, verdictGiven: true, wording: WORDING })).toThrow(ConfigurationError);
    expect(() => refuseUnlessPassed([releaseWith("inconclusive")], { force: false, verdictGiven: false, wording: { verdict: "input `verdict`", force: "input `force`" } })).toThrow(
      /rpi5 \(inconclusive\) — no input `verdict` was given; .* or input `force` to publish anyway/,
    );
  });

  it("names the variant that is not built yet", async () => {
    const d = dir();
    writeFileSync(join(d, "slmops.yaml"), MANIFEST);
    const loaded = await loadManifestOrThrow(join(d, "slmops.yaml"), { checkFiles: false, root: d, displayPath: "slmops.yaml" });
    await expect(
      releasesFromManifest({ manifest: loaded.manifest, manifestFile: join(d, "slmops.yaml"), manifestDisplay: "slmops.yaml", variantsDir: join(d, "variants"), verdict: undefined, sourceCommit: "a".repeat(40) }),
    ).rejects.toThrow(/variant story-lm\/int8 \(for rpi5\) is not built: there is no .*variants\/story-lm\/int8\/model\.onnx\. Run `slmops optimize --variant int8` first, or give the variants directory it was built into$/);
  });

  it("gives each target its variant's health-check fixture, made once per variant, the same after signing", async () => {
    const d = dir();
    writeFileSync(join(d, "slmops.yaml"), MANIFEST.replace("targets: { rpi5: int8 }", "targets: { rpi5: int8, nuc: int8 }").replace("devices:\n", "devices:\n  - id: nuc\n    runs-on: [self-hosted, nuc]\n    execution-providers: [cpu]\n"));
    const built = join(d, "variants", "story-lm", "int8");
    mkdirSync(built, { recursive: true });
    writeFileSync(join(built, "model.onnx"), encodeModel(makeModel({ ...PRESETS.nano, seed: 5 })));
    const loaded = await loadManifestOrThrow(join(d, "slmops.yaml"), { checkFiles: false, root: d, displayPath: "slmops.yaml" });
    const [release] = await releasesFromManifest({ manifest: loaded.manifest, manifestFile: join(d, "slmops.yaml"), manifestDisplay: "slmops.yaml", variantsDir: join(d, "variants"), verdict: undefined, sourceCommit: "a".repeat(40) });
    const targets = release!.targets;
    expect(targets.map((t) => t.deviceClass).sort()).toEqual(["nuc", "rpi5"]);
    const fixture = parseHealthCheck(targets[0]!.healthCheck);
    expect(fixture).toMatchObject({ version: 1, kind: "decoder", expected: { vocab: PRESETS.nano.vocab } });
    expect(targets[1]!.healthCheck).toBe(targets[0]!.healthCheck);
    // TUF signs canonical JSON: the fixture has no floats to rewrite, and what a device reads back runs.
    expect(signableJson(targets[0]!.healthCheck, "health check")).toEqual(targets[0]!.healthCheck);
    const result = await runHealthCheck(join(built, "model.onnx"), JSON.parse(JSON.stringify(signableJson(targets[0]!.healthCheck, "health check"))));
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it("releases only the device classes asked for, and refuses one release.targets does not have", async () => {
    const d = dir();
    writeFileSync(join(d, "slmops.yaml"), MANIFEST.replace("targets: { rpi5: int8 }", "targets: { rpi5: int8, nuc: fp16 }").replace("        passes: [ { quantize: { weights: int8 } } ]\n", "        passes: [ { quantize: { weights: int8 } } ]\n      - id: fp16\n        passes: [ { convert: { to: fp16 } } ]\n").replace("devices:\n", "devices:\n  - id: nuc\n    runs-on: [self-hosted, nuc]\n    execution-providers: [cpu]\n"));
    const built = join(d, "variants", "story-lm", "int8");
    mkdirSync(built, { recursive: true });
    writeFileSync(join(built, "model.onnx"), encodeModel(makeModel({ ...PRESETS.nano, seed: 6 })));
    const loaded = await loadManifestOrThrow(join(d, "slmops.yaml"), { checkFiles: false, root: d, displayPath: "slmops.yaml" });
    const input = { manifest: loaded.manifest, manifestFile: join(d, "slmops.yaml"), manifestDisplay: "slmops.yaml", variantsDir: join(d, "variants"), verdict: undefined, sourceCommit: "a".repeat(40) };
    // nuc's fp16 is not built: every target is needed without the filter, only rpi5's with it.
    await expect(releasesFromManifest(input)).rejects.toThrow(/variant story-lm\/fp16 \(for nuc\) is not built/);
    const [release] = await releasesFromManifest({ ...input, devices: ["rpi5"] });
    expect(release!.targets.map((t) => t.deviceClass)).toEqual(["rpi5"]);
    await expect(releasesFromManifest({ ...input, devices: ["rpi5", "jetson"] })).rejects.toThrow("slmops.yaml's release.targets has no device class `jetson`; it releases to `rpi5`, `nuc`.");
  });

  it("names the variant whose health check cannot be made", async () => {
    const d = dir();
    writeFileSync(join(d, "slmops.yaml"), MANIFEST);
    mkdirSync(join(d, "variants", "story-lm", "int8"), { recursive: true });
    // A valid model, but not the decoder the manifest declares.
    const identity = makeOnnxModel({
      graph: makeGraph([makeNode("Identity", ["x"], ["y"])], "identity", [makeValueInfo("x", DataType.FLOAT, [1, 4])], [makeValueInfo("y", DataType.FLOAT, [1, 4])]),
    });
    writeFileSync(join(d, "variants", "story-lm", "int8", "model.onnx"), encodeModel(identity));
    const loaded = await loadManifestOrThrow(join(d, "slmops.yaml"), { checkFiles: false, root: d, displayPath: "slmops.yaml" });
    await expect(
      releasesFromManifest({ manifest: loaded.manifest, manifestFile: join(d, "slmops.yaml"), manifestDisplay: "slmops.yaml", variantsDir: join(d, "variants"), verdict: undefined, sourceCommit: "a".repeat(40) }),
    ).rejects.toThrow(/^the health check of variant story-lm\/int8 \(for rpi5\) cannot be made: .*model\.onnx is declared a decoder but does not follow the decoder convention/);
  });
});
