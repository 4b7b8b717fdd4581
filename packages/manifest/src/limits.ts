/** Bounds on untrusted manifest input. A real manifest is far below each of them. */
export const LIMITS = Object.freeze({
  /** Largest manifest file accepted, in bytes (4 MiB). */
  maxBytes: 4 * 1024 * 1024,
  /** Deepest nesting of mappings and sequences, block and flow together. */
  maxDepth: 64,
  /** Most values that aliases (`*name`) may expand to, in total. */
  maxAliasExpansion: 10_000,
});
