import { type Alias, type Document, isAlias, isMap, isPair, isScalar, isSeq, type Node, type ParsedNode } from "yaml";

/** Offsets of a value in the source (and of its key, when it is a mapping entry's value). */
export interface NodeSpan {
  readonly start: number;
  readonly end: number;
  readonly keyStart?: number;
  readonly keyEnd?: number;
}

/** A problem found while turning the YAML tree into plain data. */
export interface TreeProblem {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  readonly start: number;
  readonly end: number;
}

export interface PlainTree {
  /** The document as plain JSON-like data (objects, arrays, strings, numbers, booleans, null). */
  readonly value: unknown;
  /** Where each JSON pointer's value is in the source. */
  readonly spans: ReadonlyMap<string, NodeSpan>;
  readonly problems: readonly TreeProblem[];
}

export interface TreeLimits {
  readonly maxDepth: number;
  readonly maxAliasExpansion: number;
}

/** Escapes one JSON pointer segment (RFC 6901). */
export function pointerSegment(key: string | number): string {
  return String(key).replace(/~/gu, "~0").replace(/\//gu, "~1");
}

/**
 * Builds plain data from a parsed YAML document, recording the source span of
 * every value by JSON pointer. Keys are defined as own data properties, so a
 * `__proto__` key is an ordinary (and, to the schema, unknown) key and never
 * touches a prototype. Aliases are expanded within a budget, so an alias bomb
 * is refused instead of exhausting memory; an alias to its own ancestor is
 * refused too.
 */
export function toPlainTree(doc: Document.Parsed, limits: TreeLimits): PlainTree {
  const spans = new Map<string, NodeSpan>();
  const problems: TreeProblem[] = [];
  const ancestors = new Set<Node>();
  let expanded = 0;
  let bombed = false;

  const visit = (node: ParsedNode | Node | null, pointer: string, depth: number, viaAlias: Alias | undefined, key?: Node | null): unknown => {
    if (bombed) return null;
    if (viaAlias) {
      expanded++;
      if (expanded > limits.maxAliasExpansion) {
        bombed = true;
        const [start, end] = rangeOf(viaAlias);
        problems.push({
          code: "manifest/alias-bomb",
          message: `aliases expand to more than ${limits.maxAliasExpansion} values; the manifest is refused as a likely alias bomb`,
          hint: "use fewer or smaller aliases (`*name`); write repeated values out if you must",
          start,
          end,
        });
        return null;
      }
    }
    if (node === null) {
      record(spans, pointer, viaAlias ?? null, key);
      return null;
    }
    if (depth > limits.maxDepth) {
      bombed = true;
      const [start, end] = rangeOf(viaAlias ?? node);
      problems.push({ code: "manifest/too-deep", message: `the manifest nests deeper than ${limits.maxDepth} levels`, hint: "a manifest needs only a few levels; check the aliases and brackets", start, end });
      return null;
    }
    record(spans, pointer, viaAlias ?? node, key);
    if (isAlias(node)) {
      const target = node.resolve(doc as Document) as Node | undefined;
      if (target === undefined) {
        const [start, end] = rangeOf(node);
        problems.push({ code: "yaml/unresolved-alias", message: `the alias \`*${node.source}\` refers to no anchor`, hint: `define \`&${node.source}\` on a value before this alias`, start, end });
        return null;
      }
      if (ancestors.has(target)) {
        const [start, end] = rangeOf(node);
        problems.push({ code: "yaml/recursive-alias", message: `the alias \`*${node.source}\` refers to a value that contains it`, start, end });
        return null;
      }
      return visit(target, pointer, depth, viaAlias ?? node, key);
    }
    if (isScalar(node)) {
      const value = node.value;
      if (typeof value === "bigint") return Number(value);
      if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
      return value ?? null;
    }
    ancestors.add(node);
    try {
      if (isMap(node)) {
        const out: Record<string, unknown> = {};
        for (const pair of node.items) {
          const keyText = keyOf(pair.key as Node | null, problems);
          if (keyText === undefined) continue;
          if (Object.prototype.hasOwnProperty.call(out, keyText)) {
            const [start, end] = rangeOf((pair.key as Node | null) ?? node);
            problems.push({ code: "yaml/duplicate-key", message: `duplicate key \`${keyText}\``, hint: "each key may appear once in a mapping; remove or merge the repeated one", start, end });
            continue;
          }
          const child = visit(pair.value as Node | null, `${pointer}/${pointerSegment(keyText)}`, depth + 1, viaAlias, pair.key as Node | null);
          // Plain assignment is safe for every key but `__proto__`, whose setter would replace the prototype.
          if (keyText === "__proto__") Object.defineProperty(out, keyText, { value: child, enumerable: true, writable: true, configurable: true });
          else out[keyText] = child;
        }
        return out;
      }
      if (isSeq(node)) {
        const out: unknown[] = [];
        node.items.forEach((item, index) => {
          if (isPair(item)) {
            const [start, end] = rangeOf((item.key as Node | null) ?? node);
            problems.push({ code: "yaml/pair-in-sequence", message: "a `key: value` pair cannot stand directly in a list here", hint: "wrap it in braces: `{ key: value }`", start, end });
            out.push(null);
            return;
          }
          out.push(visit(item as Node | null, `${pointer}/${index}`, depth + 1, viaAlias));
        });
        return out;
      }
    } finally {
      ancestors.delete(node);
    }
    return null;
  };

  const value = visit(doc.contents as Node | null, "", 0, undefined);
  return { value: bombed ? null : value, spans, problems };
}

function keyOf(key: Node | null, problems: TreeProblem[]): string | undefined {
  if (key === null) return "";
  if (isScalar(key)) {
    const value = key.value;
    if (value === null) return "";
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  }
  if (isAlias(key)) {
    const [start, end] = rangeOf(key);
    problems.push({ code: "yaml/complex-key", message: "an alias cannot be used as a key here", hint: "write the key as plain text", start, end });
    return undefined;
  }
  const [start, end] = rangeOf(key);
  problems.push({ code: "yaml/complex-key", message: "keys must be plain text, not lists or mappings", hint: "write the key as plain text", start, end });
  return undefined;
}

function rangeOf(node: Node): [number, number] {
  const range = node.range;
  if (!range) return [0, 0];
  return [range[0], range[1]];
}

function record(spans: Map<string, NodeSpan>, pointer: string, node: Node | null, key: Node | null | undefined): void {
  const keyRange = key?.range;
  const range = node?.range;
  const start = range ? range[0] : (keyRange?.[1] ?? 0);
  const end = range ? range[1] : start;
  if (keyRange) spans.set(pointer, { start, end, keyStart: keyRange[0], keyEnd: keyRange[1] });
  else spans.set(pointer, { start, end });
}
