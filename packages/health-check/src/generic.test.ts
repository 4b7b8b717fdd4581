/**
 * Fixtures of models that are not decoders (an encoder-like model here): the
 * inputs are written out from the model's declared inputs, each output is
 * fingerprinted, integer outputs must match exactly.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeHealthCheck, runHealthCheck, type GenericHealthCheck, type HealthCheck } from "./index.js";
import { encoderModel, makerDecoder, matmulModel } from "./test-support/models.js";

let dir: string;
let encoder: string;
let fixture: GenericHealthCheck;

function asGeneric(f: HealthCheck): GenericHealthCheck {
  if (f.kind !== "generic") throw new Error(`expected a generic fixture, got ${f.kind}`);
  return f;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-health-generic-"));
  encoder = await encoderModel(join(dir, "encoder"));
  fixture = asGeneric(await makeHealthCheck(encoder, { kind: "encoder" }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a generic model's fixture", () => {
  it("writes out deterministic inputs from the declared ones and fingerprints every output", async () => {
    expect(fixture.inputs.map((i) => [i.name, i.type, i.dims])).toEqual([
      ["input_ids", "int64", [1, 8]],
      ["attention_mask", "int64", [1, 8]],
    ]);
    expect(fixture.inputs[1]!.values).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(fixture.expected.map((o) => [o.name, o.type, o.dims])).toEqual([
      ["last_hidden_state", "float32", [1, 8, 16]],
      ["label", "int64", [1, 8]],
    ]);
    expect(fixture.expected[0]!.indices).toHaveLength(64);
    expect(Number(fixture.expected[0]!.scale)).toBeGreaterThan(0);
    expect(fixture.expected[1]).toMatchObject({ indices: [0, 1, 2, 3, 4, 5, 6, 7], scale: "0" });
    expect(JSON.stringify(await makeHealthCheck(encoder))).toBe(JSON.stringify(fixture));
  });

  it("passes on the same model in a fresh session", async () => {
    const result = await runHealthCheck(encoder, fixture, { budgetMs: 60_000 });
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.kind).toBe("generic");
    expect(result.deviation!.max).toBeLessThan(1e-6);
    expect(result).not.toHaveProperty("top1");
  });

  it("fails on the same graph with other weights, naming each output that differs", async () => {
    const other = await encoderModel(join(dir, "other"), 2);
    const result = await runHealthCheck(other, fixture);
    expect(result.ok).toBe(false);
    expect(result.problems).toHaveLength(2);
    expect(result.problems[0]).toMatch(/^output "last_hidden_state" differs from the fixture's by [\d.]+σ \(root mean square over 64 values\), over the tolerance of 0\.4σ/);
    expect(result.problems[1]).toMatch(/^output "label" holds \d+ at \d+, the fixture \d+ \(integers must match exactly\)/);
  });

  it("fails on a model with other inputs and outputs, and refuses an absurd budget", async () => {
    const decoder = await makerDecoder(join(dir, "decoder"));
    const result = await runHealthCheck(decoder, fixture);
    expect(result.ok).toBe(false);
    expect(result.problems.join("\n")).toMatch(/the installed model takes inputs "position_ids", "past_key_values.0.key", .* and \d+ more that the fixture does not give; it is another model/);
    expect(result.problems.join("\n")).toMatch(/the installed model has no outputs "last_hidden_state", "label"; it is another model/);
    const slow = await runHealthCheck(encoder, fixture, { budgetMs: 0.000001, timedRuns: 5 });
    expect(slow.ok).toBe(false);
    expect(slow.problems).toEqual([expect.stringMatching(/^the health check took .* ms \(median of 5 runs\), over the device's budget of 0\.000001 ms$/)]);
  });

  it("writes float inputs as decimals that feed the very same float32 values", async () => {
    const model = await matmulModel(join(dir, "matmul"));
    const f = asGeneric(await makeHealthCheck(model));
    expect(f.inputs).toHaveLength(1);
    expect(f.inputs[0]).toMatchObject({ name: "A", type: "float32", dims: [1, 8] });
    for (const v of f.inputs[0]!.values) {
      expect(typeof v).toBe("string");
      expect(Math.fround(Number(v))).toBe(Number(v));
    }
    expect(f.expected[0]).toMatchObject({ name: "Y", dims: [1, 4], indices: [0, 1, 2, 3] });
    const same = await runHealthCheck(model, f);
    expect(same.ok).toBe(true);
    expect(same.deviation!.max).toBeLessThan(1e-6);
    const other = await runHealthCheck(await matmulModel(join(dir, "matmul-other"), 2), f);
    expect(other.ok).toBe(false);
    expect(other.problems[0]).toMatch(/^output "Y" differs from the fixture's by/);
  });
});
