/** Names a place in the manifest in words, from its JSON pointer: "device `rpi5`", "pass 2 of variant `int4`". */

const ITEM_NOUNS: Readonly<Record<string, string>> = {
  models: "model",
  variants: "variant",
  devices: "device",
  gates: "gate",
  passes: "pass",
  stages: "rollout stage",
};

/** Splits a JSON pointer into its unescaped segments. */
export function segmentsOf(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/gu, "/").replace(/~0/gu, "~"));
}

function child(value: unknown, segment: string): unknown {
  if (Array.isArray(value)) return value[Number(segment)];
  if (value !== null && typeof value === "object" && Object.prototype.hasOwnProperty.call(value, segment)) {
    return (value as Record<string, unknown>)[segment];
  }
  return undefined;
}

/** The value at a JSON pointer in plain data, or undefined. */
export function valueAt(data: unknown, pointer: string): unknown {
  let value = data;
  for (const segment of segmentsOf(pointer)) value = child(value, segment);
  return value;
}

/**
 * The innermost named thing that contains the pointer ("device `rpi5`",
 * "pass 1 of variant `int4`"), or "the manifest" at the top level.
 */
export function describeOwner(data: unknown, pointer: string): string {
  const segments = segmentsOf(pointer);
  let value = data;
  const labels: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] ?? "";
    const parentKey = segments[i - 1];
    value = child(value, segment);
    const noun = parentKey !== undefined ? ITEM_NOUNS[parentKey] : undefined;
    if (noun && /^\d+$/u.test(segment)) {
      const id = value !== null && typeof value === "object" ? (value as Record<string, unknown>).id ?? (value as Record<string, unknown>).name : undefined;
      labels.push(typeof id === "string" && id.length <= 64 ? `${noun} \`${id}\`` : `${noun} ${Number(segment) + 1}`);
    } else if (["bench", "release", "rollout", "abort", "require", "eval", "targets", "regression", "quantize", "convert", "prune", "graph-optimize"].includes(segment) && i < segments.length - 1) {
      labels.push(`\`${segment}\``);
    }
  }
  if (labels.length === 0) return "the manifest";
  const last = labels.slice(-2).reverse();
  return last.join(" of ");
}

/** The key or item a pointer ends at, for messages: "`memory-budget`", "item 2 of `runs-on`". */
export function describeSubject(pointer: string): string {
  const segments = segmentsOf(pointer);
  const last = segments[segments.length - 1];
  if (last === undefined) return "the manifest";
  const parent = segments[segments.length - 2];
  if (/^\d+$/u.test(last) && parent !== undefined) return `item ${Number(last) + 1} of \`${parent}\``;
  return `\`${last}\``;
}
