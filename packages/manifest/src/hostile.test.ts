import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMITS, loadManifest, parseManifest } from "./index.js";
import { makeRepo } from "./test-support/repo.js";

const VALID = `version: 1
models:
  - id: story-lm
    source: models/story-lm/model.onnx
devices:
  - id: rpi5
    runs-on: [rpi5]
`;

/** The billion laughs: nine levels of nine aliases each. */
function aliasBomb(): string {
  const lines = ["version: 1", "models: []", `a0: &a0 [${Array(9).fill('"lol"').join(", ")}]`];
  for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(", ")}]`);
  return lines.join("\n") + "\n";
}

/** Deterministic pseudo-random bytes. */
function garbage(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");

describe("hostile and broken input", () => {
  let repo: ReturnType<typeof makeRepo>;
  const load = (text: string | Uint8Array) => parseManifest(text, { file: join(repo.root, "slmops.yaml"), root: repo.root, displayPath: "slmops.yaml" });
  const only = async (text: string | Uint8Array) => {
    const result = await load(text);
    expect(result.ok).toBe(false);
    const errors = result.diagnostics.filter((d) => d.severity === "error");
    expect(errors).toHaveLength(1);
    return errors[0]!;
  };

  beforeAll(() => {
    repo = makeRepo();
  });
  afterAll(() => repo.cleanup());

  it("refuses a 10 MB file on disk from its size, without parsing it", async () => {
    const file = repo.write("big/slmops.yaml", `version: 1\nmodels: []\n# ${"x".repeat(10 * 1024 * 1024)}\n`);
    const result = await loadManifest(file, { root: repo.root, displayPath: "big/slmops.yaml" });
    expect(result.ok).toBe(false);
    expect(result.diagnostics).toEqual([
      expect.objectContaining({ code: "manifest/too-large", line: 1, column: 1, message: "the manifest is 10MiB; manifests larger than 4MiB are refused", file: "big/slmops.yaml" }),
    ]);
  });

  it("refuses 10 MB of text handed over in memory", async () => {
    const d = await only("a".repeat(10 * 1024 * 1024));
    expect(d.code).toBe("manifest/too-large");
  });

  it("refuses the billion laughs alias bomb", async () => {
    const d = await only(aliasBomb());
    expect(d.code).toBe("manifest/alias-bomb");
    expect(d.message).toBe(`aliases expand to more than ${LIMITS.maxAliasExpansion} values; the manifest is refused as a likely alias bomb`);
    expect(d.line).toBeGreaterThan(3);
  });

  it("refuses an alias that contains itself", async () => {
    const result = await load("version: 1\nmodels: &m [ { id: a, source: x, variants: *m } ]\n");
    expect(result.ok).toBe(false);
    expect(result.diagnostics.length).toBeGreaterThan(0);
    expect(result.diagnostics.every((d) => d.line >= 1 && d.column >= 1)).toBe(true);
  });

  it.each([
    ["flow sequences", `a: ${"[".repeat(10_000)}${"]".repeat(10_000)}\n`],
    ["flow mappings", `a: ${"{a: ".repeat(10_000)}1${"}".repeat(10_000)}\n`],
    ["block sequences on one line", `${"- ".repeat(10_000)}x\n`],
    ["unclosed flow", `version: 1\nmodels: ${"[".repeat(10_000)}\n`],
    ["block mappings by indentation", Array.from({ length: 2000 }, (_, i) => `${" ".repeat(i)}k${i}:`).join("\n") + " x\n"],
    ["mixed block and flow", `version: 1\nmodels:\n${"  - ".repeat(40)}${"[".repeat(40)}\n`],
  ])("refuses 10,000-deep nesting of %s", async (_name, text) => {
    const d = await only(text);
    expect(d.code).toBe("manifest/too-deep");
    expect(d.message).toBe(`the manifest nests deeper than ${LIMITS.maxDepth} levels`);
  });

  it("stays within a small heap and the default stack on the worst inputs (a separate Node process)", () => {
    const script = `
      import { parseManifest } from ${JSON.stringify(join(packageDir, "dist/index.js"))};
      const inputs = ${JSON.stringify([aliasBomb(), `a: ${"[".repeat(10_000)}`, `${"- ".repeat(10_000)}x`, `a: ${"{a: ".repeat(10_000)}`])};
      const codes = [];
      for (const text of inputs) {
        const r = await parseManifest(text, { file: "slmops.yaml", root: ".", checkFiles: false });
        codes.push(r.diagnostics[0].code);
      }
      console.log(JSON.stringify(codes));
    `;
    const out = execFileSync(process.execPath, ["--max-old-space-size=48", "--input-type=module", "-e", script], { encoding: "utf8", cwd: packageDir });
    expect(JSON.parse(out)).toEqual(["manifest/alias-bomb", "manifest/too-deep", "manifest/too-deep", "manifest/too-deep"]);
  });

  it.each([
    ["random bytes", garbage(65_536, 7)],
    ["a PNG header", Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])],
    ["invalid UTF-8 after valid text", Uint8Array.from([...Buffer.from("version: 1\nmodels: "), 0xc3, 0x28])],
    ["a NUL byte in valid text", Buffer.from("version: 1\nmod\u0000els: []\n")],
    ["UTF-16 text", Uint8Array.from([0xff, 0xfe, ...Buffer.from("v\u0000e\u0000")])],
  ])("refuses binary garbage: %s", async (_name, bytes) => {
    const d = await only(bytes);
    expect(d.code).toBe("manifest/not-text");
    expect(d.message).toMatch(/^the manifest (is not UTF-8 text|contains|is UTF-16)/u);
    expect(d.hint).toMatch(/UTF-8/u);
  });

  it("points at the NUL byte's line", async () => {
    const d = await only("version: 1\nmodels:\n  - id: \u0000\n");
    expect([d.line, d.column]).toEqual([3, 9]);
  });

  it.each([
    ["an empty file", ""],
    ["blank lines", "\n\n   \n"],
    ["a bare document marker", "---\n"],
    ["comments only", "# nothing yet\n"],
  ])("says so for %s", async (_name, text) => {
    const d = await only(text);
    expect(d.code).toBe("manifest/empty");
    expect(d.message).toBe("the manifest is empty");
  });

  it("a __proto__ key pollutes nothing and is reported as an unknown key", async () => {
    const text = `${VALID}__proto__: { polluted: true }\nconstructor: { prototype: { polluted: true } }\nrelease:\n  targets: { __proto__: int4 }\n`;
    const result = await load(text);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
    expect(result.ok).toBe(false);
    const messages = result.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`);
    expect(messages).toContain("8:1 unknown key `__proto__` at the top level");
    expect(messages).toContain("9:1 unknown key `constructor` at the top level");
    expect(messages).toContain("11:14 `__proto__` is not a valid device id");
  });

  it("does not turn a __proto__ key into a prototype in the manifest it returns", async () => {
    // A key the schema allows to be anything: exclude-nodes holds strings, so use a device description instead.
    const result = await load(VALID.replace("runs-on: [rpi5]", "runs-on: [rpi5]\n    description: { __proto__: { isAdmin: true } }"));
    expect(result.ok).toBe(false);
    expect(result.diagnostics[0]?.message).toBe("`description` of device `rpi5` must be text, not a mapping");
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  describe("paths that leave the repository", () => {
    let outside: string;
    beforeAll(() => {
      outside = mkdtempSync(join(tmpdir(), "slmops-outside-"));
      writeFileSync(join(outside, "secret.onnx"), "secret");
      mkdirSync(join(repo.root, "links"), { recursive: true });
      symlinkSync(join(outside, "secret.onnx"), join(repo.root, "links/model.onnx"));
      symlinkSync(outside, join(repo.root, "links/dir"));
      symlinkSync(join(repo.root, "models/story-lm/model.onnx"), join(repo.root, "links/inside.onnx"));
      symlinkSync(join(repo.root, "nowhere.onnx"), join(repo.root, "links/dangling.onnx"));
    });
    afterAll(() => rmSync(outside, { recursive: true, force: true }));

    it.each([
      ["links/model.onnx", "path/outside-root", "the source model `links/model.onnx` of model `story-lm` leads outside the repository through a symbolic link"],
      ["links/dir/secret.onnx", "path/outside-root", "the source model `links/dir/secret.onnx` of model `story-lm` leads outside the repository through a symbolic link"],
      ["links/dangling.onnx", "path/broken-link", "the source model `links/dangling.onnx` of model `story-lm` is a symbolic link to nothing"],
    ])("refuses %s", async (path, code, message) => {
      const d = await only(VALID.replace("models/story-lm/model.onnx", path));
      expect({ code: d.code, message: d.message, line: d.line, column: d.column }).toEqual({ code, message, line: 4, column: 13 });
    });

    it("accepts a link that stays inside", async () => {
      const result = await load(VALID.replace("models/story-lm/model.onnx", "links/inside.onnx"));
      expect(result.diagnostics).toEqual([]);
      expect(result.ok).toBe(true);
    });

    it("skips existence checks when asked, but still refuses escaping paths", async () => {
      const missing = await parseManifest(VALID.replace("models/story-lm/model.onnx", "models/not-yet.onnx"), { file: join(repo.root, "slmops.yaml"), root: repo.root, checkFiles: false });
      expect(missing.ok).toBe(true);
      const escaping = await parseManifest(VALID.replace("models/story-lm/model.onnx", "../x.onnx"), { file: join(repo.root, "slmops.yaml"), root: repo.root, checkFiles: false });
      expect(escaping.ok).toBe(false);
    });
  });

  it("reports a manifest file that does not exist as a diagnostic", async () => {
    const result = await loadManifest(join(repo.root, "nope/slmops.yaml"), { displayPath: "nope/slmops.yaml" });
    expect(result.ok).toBe(false);
    expect(result.diagnostics[0]).toMatchObject({ code: "manifest/missing", file: "nope/slmops.yaml", line: 1, column: 1 });
  });
});
