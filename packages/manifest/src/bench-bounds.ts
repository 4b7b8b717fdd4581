/**
 * The bounds of the bench settings that count things, read from the JSON
 * Schema that validates `bench:` in slmops.yaml: the one definition of them.
 * The CLI's run-rule flags override these settings, so they take the same
 * bounds. This module loads nothing but the schema, so a command can check
 * its flags before loading the manifest machinery.
 */
import schema from "@slmops/schemas/slmops.schema.json" with { type: "json" };

export type BenchCountSetting = "warmup" | "min-iterations" | "prompt-tokens" | "generate-tokens";

export interface CountBounds {
  readonly minimum: number;
  readonly maximum: number;
}

const properties = schema.$defs.bench.properties;

function bounds(name: BenchCountSetting): CountBounds {
  const { minimum, maximum } = properties[name];
  return Object.freeze({ minimum, maximum });
}

/** Smallest and largest value of each counting bench setting, as the schema states them. */
export const BENCH_COUNT_BOUNDS: Readonly<Record<BenchCountSetting, CountBounds>> = Object.freeze({
  warmup: bounds("warmup"),
  "min-iterations": bounds("min-iterations"),
  "prompt-tokens": bounds("prompt-tokens"),
  "generate-tokens": bounds("generate-tokens"),
});
