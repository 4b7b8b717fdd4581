/**
 * Node selection by name or pattern, as `exclude-nodes` and a quantize
 * pass's `overrides` write it: an exact node name, or a glob over the
 * `/`-separated names exporters give nodes (`/model/layers.0/mlp/down_proj/MatMul`):
 * `*` within one part, `**` across parts, `?` one character, `{a,b}` either,
 * `[0-3]` a class. `/model/layers.{0,7}/**` is every node of the first and
 * last of eight blocks, and `**` followed by `/mlp/down_proj/MatMul` every
 * MLP down projection.
 *
 * Patterns come from a manifest a pull request may have written, so each is
 * compiled once, and one whose braces expand to more than
 * {@link MAX_BRACE_EXPANSION} alternatives is refused (`{1..99999999}` would
 * otherwise take seconds per node, or be cut short without a word).
 */
import { ConfigurationError } from "@slmops/diagnostics";
import { Minimatch, braceExpand } from "minimatch";

/** Alternatives one pattern's braces may expand to. */
export const MAX_BRACE_EXPANSION = 256;

const OPTIONS = { dot: true, nonegate: true, nocomment: true, braceExpandMax: MAX_BRACE_EXPANSION } as const;

/** A list of names or patterns, compiled: which of them a node name matches. */
export class NodePatterns {
  readonly #compiled: readonly { readonly pattern: string; readonly glob: Minimatch }[];

  /** `where` names the list in messages, e.g. `overrides[0].nodes`. */
  constructor(readonly patterns: readonly string[], where: string) {
    this.#compiled = patterns.map((pattern) => {
      if (braceExpand(pattern, { braceExpandMax: MAX_BRACE_EXPANSION + 1 }).length > MAX_BRACE_EXPANSION) {
        throw new ConfigurationError(`quantize ${where}: \`${pattern}\` expands to more than ${MAX_BRACE_EXPANSION} alternatives; write a narrower pattern, or several`);
      }
      return { pattern, glob: new Minimatch(pattern, OPTIONS) };
    });
  }

  /** Those of the patterns that `name` is, or matches as a glob. */
  matching(name: string): string[] {
    return this.#compiled.filter(({ pattern, glob }) => name === pattern || glob.match(name)).map(({ pattern }) => pattern);
  }
}
