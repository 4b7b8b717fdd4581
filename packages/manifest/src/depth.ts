/**
 * Measures how deeply a YAML text nests, before it reaches the parser.
 *
 * The `yaml` parser takes time that grows faster than linearly with nesting
 * and its composer recurses once per level, so a hostile 20 KB file of
 * `[[[[…` or `- - - …` could stall or overflow the stack. This scan is one
 * linear pass with constant memory per level: it tracks flow brackets outside
 * quoted scalars and comments, and block nesting by indentation (each
 * `- `, `? ` or `key:` that opens a node at a deeper column counts as one
 * level). It may over-count in contrived texts, never under-count what the
 * parser would build, and stops as soon as the limit is passed.
 */
export interface DepthExceeded {
  /** Offset of the character where the nesting passed the limit. */
  offset: number;
}

export function findExcessiveNesting(text: string, maxDepth: number): DepthExceeded | undefined {
  const blockIndents: number[] = [];
  let flowDepth = 0;
  let quote: "'" | '"' | undefined;
  let blockScalarIndent = -1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    // Start of a line.
    const lineStart = i;
    let indent = 0;
    while (i < n && text.charCodeAt(i) === 0x20) {
      i++;
      indent++;
    }
    const lineEnd = lineEndFrom(text, i);
    const blank = isBlank(text, i, lineEnd);
    if (blockScalarIndent >= 0) {
      if (blank || indent > blockScalarIndent) {
        i = nextLine(text, lineEnd);
        continue;
      }
      blockScalarIndent = -1;
    }
    if (quote === undefined && flowDepth === 0) {
      if (blank || text.charCodeAt(i) === 0x23 /* # */) {
        i = nextLine(text, lineEnd);
        continue;
      }
      if (text.startsWith("---", i) || text.startsWith("...", i)) {
        blockIndents.length = 0;
      }
      while (blockIndents.length > 0 && (blockIndents[blockIndents.length - 1] ?? 0) >= indent) blockIndents.pop();
      blockIndents.push(indent);
    }
    let atValueStart = quote === undefined;
    let lastSignificant = -1;
    for (; i < lineEnd; i++) {
      const c = text.charCodeAt(i);
      if (quote !== undefined) {
        if (quote === '"' && c === 0x5c /* \ */) {
          i++;
          continue;
        }
        if (c === quote.charCodeAt(0)) {
          if (quote === "'" && text.charCodeAt(i + 1) === 0x27) {
            i++;
            continue;
          }
          quote = undefined;
          atValueStart = false;
        }
        continue;
      }
      const next = i + 1 < lineEnd ? text.charCodeAt(i + 1) : 0x20;
      const nextIsSpace = next === 0x20 || next === 0x09;
      if (c === 0x20 || c === 0x09) continue;
      if (c === 0x23 /* # */ && (i === lineStart || text.charCodeAt(i - 1) === 0x20 || text.charCodeAt(i - 1) === 0x09)) break;
      lastSignificant = i;
      if (atValueStart && (c === 0x22 || c === 0x27)) {
        quote = c === 0x22 ? '"' : "'";
        continue;
      }
      if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
        if (atValueStart || flowDepth > 0) {
          flowDepth++;
          if (flowDepth + blockIndents.length > maxDepth) return { offset: i };
          atValueStart = true;
          continue;
        }
      } else if ((c === 0x5d /* ] */ || c === 0x7d) /* } */ && flowDepth > 0) {
        flowDepth--;
        atValueStart = false;
        continue;
      } else if (c === 0x2c /* , */ && flowDepth > 0) {
        atValueStart = true;
        continue;
      } else if (flowDepth === 0 && atValueStart && (c === 0x2d /* - */ || c === 0x3f) /* ? */ && nextIsSpace) {
        // A block sequence entry or complex key opens a node one level deeper, where its content starts (0-based, like `indent`).
        const column = i - lineStart + 2;
        if ((blockIndents[blockIndents.length - 1] ?? -1) < column) blockIndents.push(column);
        if (blockIndents.length > maxDepth) return { offset: i };
        continue;
      } else if (c === 0x3a /* : */ && (nextIsSpace || flowDepth > 0)) {
        atValueStart = true;
        continue;
      }
      if (blockIndents.length + flowDepth > maxDepth) return { offset: i };
      atValueStart = false;
    }
    // A block scalar (`key: |`, `- >-`) swallows the more-indented lines after it.
    if (quote === undefined && flowDepth === 0 && lastSignificant >= 0 && isBlockScalarHeader(text, lastSignificant)) {
      blockScalarIndent = indent;
    }
    i = nextLine(text, lineEnd);
  }
  return undefined;
}

function lineEndFrom(text: string, from: number): number {
  const end = text.indexOf("\n", from);
  return end === -1 ? text.length : end;
}

function nextLine(text: string, lineEnd: number): number {
  return lineEnd + 1 > text.length ? text.length : lineEnd + 1;
}

function isBlank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

/** True when the token ending at `last` is a block scalar header such as `|`, `>-`, `|2+`. */
function isBlockScalarHeader(text: string, last: number): boolean {
  let start = last;
  while (start > 0 && /[|>0-9+-]/u.test(text[start - 1] ?? "")) start--;
  const token = text.slice(start, last + 1);
  if (!/^[|>][0-9+-]{0,3}$/u.test(token)) return false;
  const before = text[start - 1];
  return before === undefined || before === " " || before === "\t" || before === "\n";
}
