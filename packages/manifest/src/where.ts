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
 * The innermost named thing that contains the pointer: "device `rpi5`",
 * "pass 1 of variant `int4`", "`regression` of gate 1", or "the manifest" at
 * the top level.
 */
export function describeOwner(data: unknown, pointer: string): string {
  const segments = segmentsOf(pointer);
  let value = data;
  const labels: { text: string; item: boolean }[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] ?? "";
    const parentKey = segments[i - 1];
    value = child(value, segment);
    const noun = parentKey !== undefined ? ITEM_NOUNS[parentKey] : undefined;
    if (/^\d+$/u.test(segment)) {
      if (!noun) continue;
      const id = value !== null && typeof value === "object" ? ((value as Record<string, unknown>).id ?? (value as Record<string, unknown>).name) : undefined;
      labels.push({ text: typeof id === "string" && id.length <= 64 ? `${noun} \`${id}\`` : `${noun} ${Number(segment) + 1}`, item: true });
    } else if (parentKey !== undefined && /^\d+$/u.test(parentKey) && segments[i - 2] === "passes") {
      continue; // `quantize` inside pass 1: "pass 1" says it
    } else if (!Object.prototype.hasOwnProperty.call(ITEM_NOUNS, segment) || i === segments.length - 1) {
      labels.push({ text: `\`${segment.length > 40 ? `${segment.slice(0, 37)}...` : segment}\``, item: false });
    }
  }
  const last = labels[labels.length - 1];
  if (!last) return "the manifest";
  const previousItem = [...labels.slice(0, -1)].reverse().find((l) => l.item);
  if (last.item) {
    const before = labels[labels.length - 2];
    return before?.item ? `${last.text} of ${before.text}` : last.text;
  }
  return previousItem ? `${last.text} of ${previousItem.text}` : last.text;
}

/** "`memory-budget` of device `rpi5`": a value named with its owner. */
export function describeValue(data: unknown, pointer: string): string {
  const owner = describeOwner(data, ownerPointer(pointer));
  const subject = describeSubject(pointer);
  return owner === "the manifest" ? subject : `${subject} of ${owner}`;
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

/** The pointer whose owner names a value: its parent, or its list's parent for a list item. */
export function ownerPointer(pointer: string): string {
  const segments = segmentsOf(pointer);
  const drop = segments.length >= 2 && /^\d+$/u.test(segments[segments.length - 1] ?? "") ? 2 : 1;
  return segments
    .slice(0, Math.max(0, segments.length - drop))
    .map((s) => `/${s.replace(/~/gu, "~0").replace(/\//gu, "~1")}`)
    .join("");
}
