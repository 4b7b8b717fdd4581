/**
 * A checked-out repository is untrusted: its tree can hold links that point
 * anywhere and files where variants would go. buildVariants must write only
 * inside the root, never through a link, and never over what it did not make.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseManifest, type Manifest } from "@slmops/manifest";
import { writeModel } from "@slmops/onnx";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildVariants, type VariantOutcome } from "./manifest-variants.js";
import { singleMatMul } from "./test-support/models.js";

const MANIFEST = `version: 1
models:
  - id: tiny
    source: models/tiny.onnx
    variants:
      - id: int8
        passes: [ { quantize: { weights: int8 } } ]
      - id: tokenizer.json
        passes: [ { quantize: { weights: int8 } } ]
devices:
  - id: local
    runs-on: [self-hosted]
`;

let scratch: string;
let repo: string;
let outside: string;

beforeEach(async () => {
  scratch = mkdtempSync(join(tmpdir(), "optimize-output-tree-"));
  repo = join(scratch, "repo");
  outside = join(scratch, "outside");
  mkdirSync(join(repo, "models"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, "precious.txt"), "not slmops's");
  const weight = Float32Array.from({ length: 64 * 32 }, (_, i) => Math.sin(i));
  await writeModel(join(repo, "models", "tiny.onnx"), singleMatMul(weight, 64, 32));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

async function manifest(): Promise<Manifest> {
  const result = await parseManifest(MANIFEST, { file: join(repo, "slmops.yaml"), root: repo });
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join("; "));
  return result.manifest;
}

function failure(outcome: VariantOutcome | undefined): string {
  if (outcome === undefined || outcome.ok) throw new Error("expected the variant to fail");
  return (outcome.error as Error).message;
}

describe("buildVariants in a hostile tree", () => {
  it("refuses `.slmops` as a link out of the repository and leaves its target untouched", async () => {
    symlinkSync(outside, join(repo, ".slmops"));
    const [outcome] = await buildVariants({ manifest: await manifest(), root: repo, outDir: join(repo, ".slmops", "variants"), filter: { variant: "int8" } });
    expect(failure(outcome)).toMatch(/^\.slmops is a symbolic link; slmops does not write through links/);
    expect(readdirSync(outside)).toEqual(["precious.txt"]);
  });

  it("refuses `.slmops/variants/<model>` as a link, and a link at the variant itself", async () => {
    mkdirSync(join(repo, ".slmops", "variants"), { recursive: true });
    symlinkSync(outside, join(repo, ".slmops", "variants", "tiny"));
    const out = join(repo, ".slmops", "variants");
    expect(failure((await buildVariants({ manifest: await manifest(), root: repo, outDir: out, filter: { variant: "int8" } }))[0])).toMatch(/tiny is a symbolic link/);
    expect(readdirSync(outside)).toEqual(["precious.txt"]);

    rmSync(join(out, "tiny"));
    mkdirSync(join(out, "tiny"));
    symlinkSync(outside, join(out, "tiny", "int8"));
    expect(failure((await buildVariants({ manifest: await manifest(), root: repo, outDir: out, filter: { variant: "int8" } }))[0])).toMatch(/symbolic link slmops did not make/);
    expect(readdirSync(outside)).toEqual(["precious.txt"]);
  });

  it("never replaces a file it did not make: a variant id naming an existing file", async () => {
    // `--out models` with a variant called tokenizer.json: models/tiny/tokenizer.json is the user's file.
    mkdirSync(join(repo, "models", "tiny"));
    writeFileSync(join(repo, "models", "tiny", "tokenizer.json"), '{"model": "mine"}');
    const [outcome] = await buildVariants({ manifest: await manifest(), root: repo, outDir: join(repo, "models"), filter: { variant: "tokenizer.json" } });
    expect(failure(outcome)).toMatch(/already exists as a file that slmops did not make; slmops will not replace it/);
    expect(readFileSync(join(repo, "models", "tiny", "tokenizer.json"), "utf8")).toBe('{"model": "mine"}');
  });

  it("publishes each build by one rename and recovers the newest complete build a killed run left", async () => {
    const out = join(repo, ".slmops", "variants");
    const first = (await buildVariants({ manifest: await manifest(), root: repo, outDir: out, filter: { variant: "int8" } }))[0];
    if (!first?.ok) throw new Error("first build failed");
    const link = join(out, "tiny", "int8");
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readdirSync(link).sort()).toEqual([".complete", "model.onnx"]);
    // A killed build that never finished is removed; the published build stays until the new one replaces it.
    const killed = join(out, "tiny", ".int8.build-zzzzzzzzz-00000000");
    mkdirSync(killed);
    writeFileSync(join(killed, "model.onnx"), "half a model");
    const second = (await buildVariants({ manifest: await manifest(), root: repo, outDir: out, filter: { variant: "int8" } }))[0];
    if (!second?.ok) throw new Error("second build failed");
    expect(second.digest).toBe(first.digest);
    expect(existsSync(killed)).toBe(false);
    expect(readdirSync(join(out, "tiny")).filter((n) => n.startsWith(".int8.build-"))).toHaveLength(1);
  });
});
