/**
 * Node selection by name or pattern, as `exclude-nodes` and a quantize
 * pass's `overrides` write it: an exact node name, or a glob over the
 * `/`-separated names exporters give nodes (`/model/layers.0/mlp/down_proj/MatMul`):
 * `*` within one part, `**` across parts, `?` one character, `{a,b}` either,
 * `[0-3]` a class. `/model/layers.{0,7}/**` is every node of the first and
 * last of eight blocks, and `**` followed by `/mlp/down_proj/MatMul` every
 * MLP down projection.
 */
import { minimatch } from "minimatch";

const OPTIONS = { dot: true, nonegate: true, nocomment: true } as const;

/** Whether `name` is `pattern`, or matches it as a glob. */
export function matchesNodePattern(name: string, pattern: string): boolean {
  return name === pattern || minimatch(name, pattern, OPTIONS);
}

/** Those of `patterns` that `name` matches. */
export function matchingPatterns(name: string, patterns: readonly string[]): string[] {
  return patterns.filter((p) => matchesNodePattern(name, p));
}
