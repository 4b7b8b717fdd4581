/**
 * Whether two parts of a normalized manifest mean the same for a benchmark:
 * positions in the file (`pointer`), where the checkout sits on disk
 * (`resolved` paths) and descriptions do not count.
 */

const IGNORED_KEYS = new Set(["pointer", "description"]);

function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (typeof value !== "object" || value === null) return value;
  const object = value as Record<string, unknown>;
  // A manifest path: only the path as written is part of the change.
  if (typeof object.written === "string" && typeof object.resolved === "string") return object.written;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(object).sort()) {
    if (!IGNORED_KEYS.has(key) && object[key] !== undefined) out[key] = comparable(object[key]);
  }
  return out;
}

/** True when `a` and `b` are equal once pointers, descriptions and resolved paths are set aside. */
export function sameForBenchmark(a: unknown, b: unknown): boolean {
  return JSON.stringify(comparable(a)) === JSON.stringify(comparable(b));
}

/** `value` without the listed keys (shallow). */
export function without<T extends object>(value: T, ...keys: readonly (keyof T)[]): Partial<T> {
  const copy: Partial<T> = { ...value };
  for (const key of keys) delete copy[key];
  return copy;
}
