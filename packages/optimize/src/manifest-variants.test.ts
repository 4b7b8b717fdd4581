import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseManifest } from "@slmops/manifest";
import type { Manifest } from "@slmops/manifest";
import { describe, expect, it } from "vitest";
import { variantDigest } from "@slmops/variant-identity";
import { buildVariants, executionProvidersOf, passSpecOf, selectVariants, UnknownVariantFilterError, type VariantOutcome } from "./manifest-variants.js";
import { normalizePass } from "./pass-options.js";

const MANIFEST = `version: 1
models:
  - id: story-lm
    source: story.onnx
    variants:
      - id: int4
        passes:
          - quantize: { weights: int4, block-size: 64, method: minimize-error, accuracy-level: int8, exclude-nodes: [lm_head] }
          - graph-optimize: { level: basic }
      - id: int4-sym
        passes: [ { quantize: { weights: int4, symmetric: true } } ]
      - id: int8
        passes: [ { quantize: { weights: int8 } } ]
      - id: fp16
        passes: [ { convert: { to: fp16, keep-io-types: false, keep-ops: [Softmax] } } ]
      - id: pruned
        passes: [ { prune: { sparsity: 25%, scope: global } }, { graph-optimize: { level: all, allow-machine-specific: true } } ]
      - id: int4-mixed
        passes:
          - quantize:
              weights: int4
              method: minimize-error
              overrides:
                - { nodes: [/lm_head/MatMul], weights: int8 }
                - { nodes: ["/model/layers.0/**"], block-size: 128, method: rtn, accuracy-level: fp32 }
  - id: chat-lm
    source: chat.onnx
    variants:
      - id: int8
        passes: [ { quantize: { weights: int8 } } ]
devices:
  - id: local
    runs-on: [self-hosted]
`;

async function manifest(): Promise<Manifest> {
  const root = mkdtempSync(join(tmpdir(), "manifest-variants-"));
  const result = await parseManifest(MANIFEST, { file: join(root, "slmops.yaml"), root, checkFiles: false });
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join("; "));
  return result.manifest;
}

describe("manifest variants", () => {
  it("turns every normalized manifest pass back into a spec that optimizeModel reads the same way", async () => {
    const m = await manifest();
    const passes = (model: number, variant: number) => m.models[model]?.variants[variant]?.passes ?? [];
    const normalized = (model: number, variant: number) => passes(model, variant).map((p, i) => normalizePass(passSpecOf(p), `passes[${i}]`));
    expect(normalized(0, 0)).toEqual([
      { name: "quantize", weights: "int4", activations: "none", blockSize: 64, symmetric: false, method: "minimize-error", accuracyLevel: 4, excludeNodes: ["lm_head"], overrides: [] },
      { name: "graph-optimize", level: "basic", allowMachineSpecific: false },
    ]);
    expect(normalized(0, 1)).toEqual([{ name: "quantize", weights: "int4", activations: "none", blockSize: 32, symmetric: true, method: "rtn", accuracyLevel: undefined, excludeNodes: [], overrides: [] }]);
    expect(normalized(0, 2)).toEqual([{ name: "quantize", weights: "int8", activations: "none", blockSize: 32, symmetric: true, method: "rtn", accuracyLevel: undefined, excludeNodes: [], overrides: [] }]);
    expect(normalized(0, 3)).toEqual([{ name: "convert", to: "fp16", keepIoTypes: false, keepOps: ["Softmax"] }]);
    expect(normalized(0, 4)).toEqual([
      { name: "prune", sparsity: 0.25, scope: "global" },
      { name: "graph-optimize", level: "all", allowMachineSpecific: true },
    ]);
    // An override keeps what it writes and takes the rest from the pass; int8 over an int4 pass is symmetric, as int8 is by default.
    expect(normalized(0, 5)).toEqual([
      {
        name: "quantize", weights: "int4", activations: "none", blockSize: 32, symmetric: false, method: "minimize-error", accuracyLevel: undefined, excludeNodes: [],
        overrides: [
          { nodes: ["/lm_head/MatMul"], weights: "int8", blockSize: 32, symmetric: true, method: "minimize-error", accuracyLevel: undefined },
          { nodes: ["/model/layers.0/**"], weights: "int4", blockSize: 128, symmetric: false, method: "rtn", accuracyLevel: 1 },
        ],
      },
    ]);
  });

  it("gathers the execution providers of every device, cpu without devices", async () => {
    const m = await manifest();
    expect(executionProvidersOf(m)).toEqual(["cpu"]);
    const devices = [{ executionProviders: ["cuda", "cpu"] }, { executionProviders: ["webgpu", "cpu"] }];
    expect(executionProvidersOf({ ...m, devices } as unknown as Manifest)).toEqual(["cuda", "cpu", "webgpu"]);
    expect(executionProvidersOf({ ...m, devices: [] })).toEqual(["cpu"]);
  });

  it("selects by model, by variant id across models, and by model/variant", async () => {
    const m = await manifest();
    const ids = (filter: Parameters<typeof selectVariants>[1]) => selectVariants(m, filter).map((s) => `${s.model.id}/${s.variant.id}`);
    expect(ids({})).toEqual(["story-lm/int4", "story-lm/int4-sym", "story-lm/int8", "story-lm/fp16", "story-lm/pruned", "story-lm/int4-mixed", "chat-lm/int8"]);
    expect(ids({ model: "chat-lm" })).toEqual(["chat-lm/int8"]);
    expect(ids({ variant: "int8" })).toEqual(["story-lm/int8", "chat-lm/int8"]);
    expect(ids({ variant: "chat-lm/int8" })).toEqual(["chat-lm/int8"]);
    expect(ids({ model: "story-lm", variant: "int8" })).toEqual(["story-lm/int8"]);
  });

  it("selects by several models and variants, in manifest order, each named once", async () => {
    const m = await manifest();
    const ids = (filter: Parameters<typeof selectVariants>[1]) => selectVariants(m, filter).map((s) => `${s.model.id}/${s.variant.id}`);
    expect(ids({ variant: ["fp16", "int4", "int4"] })).toEqual(["story-lm/int4", "story-lm/fp16"]);
    expect(ids({ model: ["chat-lm", "story-lm"], variant: ["int8"] })).toEqual(["story-lm/int8", "chat-lm/int8"]);
    // fp16 is story-lm's only: a variant one of the selected models has is enough.
    expect(ids({ model: ["story-lm", "chat-lm"], variant: ["fp16", "chat-lm/int8"] })).toEqual(["story-lm/fp16", "chat-lm/int8"]);
    expect(() => selectVariants(m, { model: ["story-lm", "chat"] })).toThrow(UnknownVariantFilterError);
    expect(() => selectVariants(m, { model: ["chat-lm"], variant: ["int8", "int2"] })).toThrow("no variant `int2` in model `chat-lm`; its variants are `int8`");
  });

  it("refuses filters that name nothing, with the ids that exist", async () => {
    const m = await manifest();
    const failure = (filter: Parameters<typeof selectVariants>[1]) => {
      try {
        selectVariants(m, filter);
      } catch (error) {
        return error;
      }
      throw new Error("expected a failure");
    };
    const model = failure({ model: "story" }) as UnknownVariantFilterError;
    expect(model).toBeInstanceOf(UnknownVariantFilterError);
    expect([model.filter, model.given, model.available]).toEqual(["model", "story", ["story-lm", "chat-lm"]]);
    const variant = failure({ model: "chat-lm", variant: "fp16" }) as UnknownVariantFilterError;
    expect(variant.message).toBe("no variant `fp16` in model `chat-lm`; its variants are `int8`");
    expect(variant.available).toEqual(["int8"]);
    expect((failure({ variant: "int2" }) as UnknownVariantFilterError).available).toEqual(["int4", "int4-sym", "int8", "fp16", "pruned", "int4-mixed"]);
    expect((failure({ model: "chat-lm", variant: "story-lm/int8" }) as Error).message).toMatch(/names model `story-lm` but the model filter is `chat-lm`/);
  });

  it("builds into <out>/<model>/<variant>, replaces an earlier build whole, and clears what an interrupted build left", async () => {
    const root = mkdtempSync(join(tmpdir(), "manifest-variants-build-"));
    const example = join(import.meta.dirname, "..", "..", "..", "examples", "story-lm", "models", "story-lm", "model.onnx");
    copyFileSync(example, join(root, "story.onnx"));
    writeFileSync(join(root, "chat.onnx"), readFileSync(example).subarray(0, 4096)); // truncated: chat-lm fails
    const result = await parseManifest(MANIFEST, { file: join(root, "slmops.yaml"), root });
    if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join("; "));
    const out = join(root, "out");
    const build = () => buildVariants({ manifest: result.manifest, root, outDir: out, filter: { variant: "int8" } });
    // An earlier build of the variant, to be replaced, and a build that was killed half-way.
    const earlier = (await build())[0];
    if (!earlier?.ok) throw new Error("the earlier build failed");
    const killed = join(out, "story-lm", ".int8.build-zzzzzzzzz-00000000");
    mkdirSync(killed);
    writeFileSync(join(killed, "model.onnx"), "half a model");

    const events: string[] = [];
    const outcomes: VariantOutcome[] = await buildVariants({
      manifest: result.manifest,
      root,
      outDir: out,
      filter: { variant: "int8" },
      onVariantStart: (s, i, n) => events.push(`start ${s.model.id}/${s.variant.id} ${i + 1}/${n}`),
      onVariantEnd: (o) => events.push(`${o.ok ? "built" : "failed"} ${o.model}/${o.variant}`),
    });
    expect(events).toEqual(["start story-lm/int8 1/2", "built story-lm/int8", "start chat-lm/int8 2/2", "failed chat-lm/int8"]);
    const [built, failed] = outcomes;
    if (!built?.ok || failed?.ok !== false) throw new Error("expected story-lm/int8 built and chat-lm/int8 failed");
    expect(built.path).toBe(join(out, "story-lm", "int8", "model.onnx"));
    const onnx = readFileSync(built.path);
    expect(built.files).toEqual([{ name: "model.onnx", bytes: onnx.length, sha256: createHash("sha256").update(onnx).digest("hex") }]);
    expect(built.digest).toBe(variantDigest(built.files));
    expect(built.passes.map((p) => p.description)).toEqual(["quantize(int8, block 32, symmetric, rtn)"]);
    // The link and the one build it points at; the earlier build and the killed one are gone.
    const entries = readdirSync(join(out, "story-lm")).sort();
    expect(entries).toHaveLength(2);
    expect(entries[1]).toBe("int8");
    expect(entries[0]).toMatch(/^\.int8\.build-/);
    expect(existsSync(killed)).toBe(false);
    expect(readdirSync(join(out, "story-lm", "int8")).sort()).toEqual([".complete", "model.onnx"]);
    expect(readdirSync(join(out, "chat-lm"))).toEqual([]);
    expect(existsSync(join(out, "chat-lm", "int8"))).toBe(false);
  });
});
