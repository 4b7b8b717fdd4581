import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULTS, manifestSchema, parseManifest } from "./index.js";
import { makeRepo } from "./test-support/repo.js";

const DAY = 86_400_000;

function manifest(expiry: string): string {
  return `version: 1
models: [ { id: m, source: models/story-lm/model.onnx, variants: [ { id: q, passes: [ { quantize: { weights: int8 } } ] } ] } ]
devices: [ { id: d, runs-on: [d] } ]
gates: [ { require: { perplexity: { max: 30 } } } ]
release:
  targets: { d: q }
  expiry: ${expiry}
`;
}

describe("the schema's release.expiry", () => {
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  const validate = ajv.compile(manifestSchema);
  const release = (expiry: unknown) => ({ version: 1, models: [{ id: "m", source: "models/m.onnx" }], release: { targets: { d: "q" }, expiry } });

  it("takes a duration per role, each described with what it protects and its default", () => {
    expect(validate(release({ root: "365d", targets: "90d", snapshot: "7d", timestamp: "1d", rollout: "7d" }))).toBe(true);
    expect(validate(release({ timestamp: "12h" }))).toBe(true);
    const roles = (manifestSchema as { $defs: { release: { properties: { expiry: { properties: Record<string, { default: string; description: string }> } } } } }).$defs.release.properties.expiry.properties;
    expect(Object.keys(roles)).toEqual(["root", "targets", "snapshot", "timestamp", "rollout"]);
    for (const [role, spec] of Object.entries(roles)) {
      expect(spec.description).toContain(`Default \`${spec.default}\``);
      expect(spec.description.toLowerCase()).toContain(role);
    }
  });

  it("refuses an unknown role and a value that is not a duration", () => {
    expect(validate(release({ delegated: "7d" }))).toBe(false);
    expect(validate(release({ root: 365 }))).toBe(false);
    expect(validate(release({ targets: "90 days" }))).toBe(false);
  });
});

describe("release.expiry in the manifest", () => {
  let repo: ReturnType<typeof makeRepo>;
  beforeAll(() => {
    repo = makeRepo();
  });
  afterAll(() => repo.cleanup());
  const load = (text: string) => parseManifest(text, { file: join(repo.root, "slmops.yaml"), root: repo.root, displayPath: "slmops.yaml" });
  const problems = async (expiry: string) =>
    (await load(manifest(expiry))).diagnostics.map((d) => ({ line: d.line, column: d.column, code: d.code, message: d.message }));

  it("normalises to milliseconds, with the defaults for the roles not written", async () => {
    const result = await load(manifest("{ targets: 30d, timestamp: 6h }"));
    expect(result.diagnostics).toEqual([]);
    expect(result.ok && result.manifest.release?.expiryMs).toEqual({ root: 365 * DAY, targets: 30 * DAY, snapshot: 7 * DAY, timestamp: DAY / 4, rollout: 7 * DAY });
  });

  it("gets every default without an expiry section", async () => {
    const result = await load(manifest("{}"));
    expect(result.diagnostics).toEqual([]);
    expect(result.ok && result.manifest.release?.expiryMs).toEqual(DEFAULTS.expiryMs);
    expect(DEFAULTS.expiryMs).toEqual({ root: 365 * DAY, targets: 90 * DAY, snapshot: 7 * DAY, timestamp: DAY, rollout: 7 * DAY });
  });

  it("refuses a zero expiry at its line and column", async () => {
    expect(await problems("{ snapshot: 0s }")).toEqual([
      { line: 7, column: 23, code: "release/zero-expiry", message: "the snapshot role's metadata would expire as soon as it is signed" },
    ]);
    expect((await load(manifest("{ rollout: 0d }"))).ok).toBe(false);
  });

  it("refuses a role that outlives the root", async () => {
    expect(await problems("{ root: 30d, targets: 60d }")).toEqual([
      { line: 7, column: 33, code: "release/expiry-beyond-root", message: "the targets role's expiry (`60d`) is longer than the root role's (`30d`), which trusts its keys" },
    ]);
    expect(await problems("{ rollout: 400d }")).toEqual([
      { line: 7, column: 22, code: "release/expiry-beyond-root", message: "the rollout role's expiry (`400d`) is longer than the root role's (the default `365d`), which trusts its keys" },
    ]);
    // A root shorter than a default it leaves in place is reported at the root.
    expect(await problems("{ root: 60d }")).toEqual([
      { line: 7, column: 19, code: "release/expiry-beyond-root", message: "the targets role's expiry (the default `90d`) is longer than the root role's (`60d`), which trusts its keys" },
    ]);
    expect(await problems("{ root: 90d }")).toEqual([]);
  });

  it("refuses a timestamp that outlives the snapshot it names", async () => {
    expect(await problems("{ snapshot: 2d, timestamp: 3d }")).toEqual([
      { line: 7, column: 38, code: "release/timestamp-beyond-snapshot", message: "the timestamp role's expiry (`3d`) is longer than the snapshot role's (`2d`), the metadata it names" },
    ]);
    expect(await problems("{ snapshot: 12h }")).toEqual([
      { line: 7, column: 23, code: "release/timestamp-beyond-snapshot", message: "the timestamp role's expiry (the default `1d`) is longer than the snapshot role's (`12h`), the metadata it names" },
    ]);
    expect(await problems("{ snapshot: 1d, timestamp: 1d }")).toEqual([]);
  });

  it("leaves a malformed duration to the schema, at its place", async () => {
    const result = await load(manifest("{ targets: 90 days }"));
    expect(result.ok).toBe(false);
    expect(result.diagnostics.map((d) => [d.line, d.pointer])).toEqual([[7, "/release/expiry/targets"]]);
  });
});
