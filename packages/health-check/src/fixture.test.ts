/**
 * A fixture comes from release metadata: signed, but still a remote input.
 * Anything that is not a fixture this package wrote — another shape, sizes
 * past the bounds, numbers that are not finite — is refused with a message
 * that says where, before a model is loaded.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isConfigurationError } from "@slmops/diagnostics";
import { HEALTH_CHECK_LIMITS, InvalidHealthCheckError, makeHealthCheck, parseHealthCheck, runHealthCheck, type HealthCheck } from "./index.js";
import { encoderModel, makerDecoder } from "./test-support/models.js";
import * as schemas from "./fixture-schema.js";

describe("the fixture validators", () => {
  it("are compiled from the fixture schemas as they are now (else: npm run build && npm run generate)", async () => {
    // @ts-expect-error: a plain script of this package, not TypeScript
    const { fixtureValidatorsSource } = (await import("../scripts/fixture-validators-source.mjs")) as { fixtureValidatorsSource: (s: typeof schemas) => string };
    const committed = readFileSync(join(import.meta.dirname, "generated", "fixture-validators.ts"), "utf8");
    expect(committed === fixtureValidatorsSource(schemas), "src/generated/fixture-validators.ts is out of date: run npm run build && npm run generate in packages/health-check").toBe(true);
  });
});

let dir: string;
let model: string;
let decoder: HealthCheck;
let generic: HealthCheck;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-health-fixture-"));
  model = await makerDecoder(join(dir, "decoder"));
  decoder = await makeHealthCheck(model);
  generic = await makeHealthCheck(await encoderModel(join(dir, "encoder")));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a tampered fixture may be any shape
type Loose = Record<string, any>;

/** A deep copy of `fixture` changed by `edit`. */
function tampered(fixture: HealthCheck, edit: (f: Loose) => void): unknown {
  const copy = JSON.parse(JSON.stringify(fixture)) as Loose;
  edit(copy);
  return copy;
}

function refusal(value: unknown): string {
  try {
    parseHealthCheck(value);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidHealthCheckError);
    expect(isConfigurationError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error("the fixture was accepted");
}

const PREFIX = "the release's health-check fixture is invalid: ";

describe("fixture validation", () => {
  it("accepts what makeHealthCheck writes, as JSON text read back, and plain JSON numbers for decimals", () => {
    expect(parseHealthCheck(JSON.parse(JSON.stringify(decoder)))).toEqual(decoder);
    expect(parseHealthCheck(JSON.parse(JSON.stringify(generic)))).toEqual(generic);
    const numeric = tampered(decoder, (f) => {
      f.expected.logits = f.expected.logits.map(Number);
      f.tolerance = { rms: 0.4, max: 1 };
    });
    expect(() => parseHealthCheck(numeric)).not.toThrow();
  });

  it("refuses what is not a fixture of this version, or a fixture of the wrong shape", () => {
    expect(refusal(null)).toBe(`${PREFIX}it is null, not an object (was the release built before fixtures existed?); the release cannot be health-checked, rebuild it with this version of slmops`);
    expect(refusal([decoder])).toMatch(/it is an array, not an object/);
    expect(refusal(tampered(decoder, (f) => (f.version = 2)))).toMatch(/its version is 2; this reader knows version 1/);
    expect(refusal(tampered(decoder, (f) => (f.kind = "encoder")))).toMatch(/its kind is "encoder", not "decoder" or "generic"/);
    expect(refusal(tampered(decoder, (f) => delete f.expected.scale))).toMatch(/^the release's health-check fixture is invalid: \/expected must have required property 'scale'/);
    expect(refusal(tampered(decoder, (f) => (f.inputs.prefill = "1 2 3")))).toMatch(/\/inputs\/prefill must be array/);
    expect(refusal(tampered(decoder, (f) => (f.expected.top = [5, 5])))).toMatch(/\/expected\/top must NOT have duplicate items/);
    expect(refusal(tampered(decoder, (f) => (f.expected.logits = f.expected.logits.slice(1))))).toMatch(/\/expected\/logits has \d+ values for \d+ ids/);
    expect(refusal(tampered(decoder, (f) => (f.inputs.decode = [1.5])))).toMatch(/\/inputs\/decode\/0 must be integer/);
    expect(refusal(tampered(decoder, (f) => (f.inputs.prefill[2] = 1024)))).toMatch(/\/inputs\/prefill\/2 is token 1024, outside the vocabulary of 1024/);
    expect(refusal(tampered(decoder, (f) => (f.expected.scale = "0")))).toMatch(/\/expected\/scale must be greater than 0/);
    expect(refusal(tampered(decoder, (f) => (f.tolerance.rms = "-0.4")))).toMatch(/\/tolerance\/rms is "-0.4", not a number this field takes/);
    // A key that is not the format's is named, quoted and cut short, not followed.
    const unknown = refusal(tampered(decoder, (f) => (f.expected[`x${"\u202e".repeat(200)}`] = 1)));
    expect(unknown).toMatch(/\/expected has an unknown field "x(\\u202e)+\.\.\.;/);
    expect(unknown).not.toContain("\u202e");
    expect(unknown.length).toBeLessThan(300);
    expect(refusal(tampered(generic, (f) => (f.inputs[0].values = f.inputs[0].values.slice(1))))).toMatch(/\/inputs\/0\/values has 7 values for dims \[1,8\] \(8\)/);
    expect(refusal(tampered(generic, (f) => (f.inputs[1].name = f.inputs[0].name)))).toMatch(/\/inputs\/1 names input "input_ids" a second time/);
    expect(refusal(tampered(generic, (f) => (f.expected[0].indices[0] = 1_000_000)))).toMatch(/\/expected\/0\/indices\/0 is 1000000, beyond the output's 128 elements/);
    expect(refusal(tampered(generic, (f) => (f.inputs[0].values[0] = "0.5")))).toMatch(/\/inputs\/0\/values\/0 must be an integer for a int64 tensor/);
  });

  it("refuses sizes past the bounds before looking at their contents", () => {
    expect(refusal(tampered(decoder, (f) => (f.inputs.prefill = new Array(HEALTH_CHECK_LIMITS.prefillTokens + 1).fill(1))))).toMatch(
      /\/inputs\/prefill must NOT have more than 256 items/,
    );
    expect(refusal(tampered(decoder, (f) => (f.expected.ids = Array.from({ length: 100_000 }, (_, i) => i))))).toMatch(/\/expected\/ids must NOT have more than 256 items/);
    expect(refusal(tampered(decoder, (f) => (f.expected.vocab = 2 ** 40)))).toMatch(/\/expected\/vocab must be <= 16777216/);
    expect(refusal(tampered(decoder, (f) => (f.expected.margin = "1".repeat(1000))))).toMatch(/\/expected\/margin is "1{50,}\.\.\., not a number/);
    expect(refusal(tampered(generic, (f) => (f.inputs[0].dims = [4097, 1, 1, 1, 1, 1, 1, 1, 1])))).toMatch(/\/inputs\/0\/dims must NOT have more than 8 items/);
    expect(refusal(tampered(generic, (f) => (f.inputs[0].dims = [1_000_000, 1_000_000])))).toMatch(/\/inputs\/0\/dims has more than 4096 elements/);
    expect(refusal(tampered(generic, (f) => (f.inputs = Array.from({ length: 65 }, () => f.inputs[0]))))).toMatch(/\/inputs must NOT have more than 64 items/);
  });

  it("refuses numbers that are not finite, in any spelling", () => {
    expect(refusal(tampered(decoder, (f) => (f.expected.logits[3] = "NaN")))).toMatch(/^the release's health-check fixture is invalid: \/expected\/logits\/3 is "NaN", not a number this field takes/);
    // JSON has no NaN, but a fixture handed over as an object can hold one.
    const withNaN = JSON.parse(JSON.stringify(decoder)) as Loose;
    withNaN.expected.logits[0] = Number.NaN;
    expect(refusal(withNaN)).toMatch(/\/expected\/logits\/0 is NaN, not a number this field takes/);
    expect(refusal(tampered(decoder, (f) => (f.expected.logits[1] = "Infinity")))).toMatch(/\/expected\/logits\/1 is "Infinity", not a number/);
    expect(refusal(tampered(decoder, (f) => (f.expected.logits[2] = "1e999")))).toMatch(/\/expected\/logits\/2 is "1e999", which is not a finite number/);
    expect(refusal(tampered(generic, (f) => (f.expected[0].values[0] = "nan")))).toMatch(/\/expected\/0\/values\/0 is "nan", not a number/);
  });

  it("runHealthCheck refuses a tampered fixture before it loads the model", async () => {
    await expect(runHealthCheck(join(dir, "no-such-model.onnx"), tampered(decoder, (f) => (f.expected.logits[0] = "NaN")))).rejects.toThrow(InvalidHealthCheckError);
    await expect(runHealthCheck(model, { version: 1 })).rejects.toThrow(/its kind is undefined/);
  });
});
