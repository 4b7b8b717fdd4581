/**
 * Text edits an editor user would make to a slmops.yaml, located with the
 * `yaml` parser's source positions: a fresh key line inside a mapping (where
 * completion is asked for) and a copy broken in known ways (with the lines
 * where the diagnostics must appear).
 */
import { LineCounter, isMap, isSeq, parseDocument, type Node, type Pair, type YAMLMap } from "yaml";

/** A zero-based LSP position. */
export interface LspPosition {
  line: number;
  character: number;
}

/** A document with one empty key line added inside a mapping. */
export interface CompletionProbe {
  text: string;
  /** End of the added line: where the cursor would be. */
  position: LspPosition;
  /** Keys the mapping already had (an editor offers the others). */
  presentKeys: string[];
}

/** A deliberate mistake in a broken copy, and what the server must say about it. */
export interface Breakage {
  /** Zero-based line of the mistake. */
  line: number;
  /** Zero-based column where the diagnostic starts, when it is known. */
  character?: number;
  /** What the line says, for failure messages. */
  source: string;
  /** The diagnostic message expected on that line. */
  message: RegExp;
}

interface Located {
  lines: string[];
  lineCounter: LineCounter;
  map: YAMLMap;
}

function locateMap(text: string, path: readonly (string | number)[]): Located {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) throw new Error(`cannot parse the document: ${doc.errors[0]?.message}`);
  const node = doc.getIn(path, true);
  if (!isMap(node)) throw new Error(`no mapping at ${path.join(".")}`);
  return { lines: text.split("\n"), lineCounter, map: node };
}

/** Zero-based line and column of an offset. */
function position(lineCounter: LineCounter, offset: number): LspPosition {
  const { line, col } = lineCounter.linePos(offset);
  return { line: line - 1, character: col - 1 };
}

function keyOf(pair: Pair): string {
  const key = pair.key as Node | null;
  return key && "value" in key ? String(key.value) : String(key);
}

/** Zero-based first and last line a pair spans. */
function pairLines(lineCounter: LineCounter, pair: Pair): { first: number; last: number } {
  const key = pair.key as Node;
  const value = pair.value as Node | null;
  const start = key.range?.[0] ?? 0;
  const end = value?.range ? Math.max(value.range[1] - 1, start) : (key.range?.[1] ?? start);
  return { first: position(lineCounter, start).line, last: position(lineCounter, end).line };
}

/** Rewrites the mapping at `path` in block style (one key per line), if it is a flow mapping. */
export function blockStyle(text: string, path: readonly (string | number)[]): string {
  const doc = parseDocument(text);
  const node = doc.getIn(path, true);
  if (!isMap(node) || !node.flow) return text;
  node.flow = false;
  return doc.toString();
}

/**
 * Adds an empty line, indented like the keys of the mapping at `path`, after
 * the mapping's last entry: the place a user starts typing a new key. With
 * `keep`, only the mapping's first `keep` entries are left in place first, so
 * that there is always something left to complete.
 */
export function completionProbe(text: string, path: readonly (string | number)[], options: { keep?: number } = {}): CompletionProbe {
  const blockText = blockStyle(text, path);
  const { lines, lineCounter, map } = locateMap(blockText, path);
  const pairs = map.items.slice(0, options.keep ?? map.items.length);
  const first = pairs[0];
  const last = pairs[pairs.length - 1];
  if (!first || !last) throw new Error(`the mapping at ${path.join(".")} is empty`);
  const dropped = new Set<number>();
  for (const pair of map.items.slice(pairs.length)) {
    const { first: from, last: to } = pairLines(lineCounter, pair);
    for (let line = from; line <= to; line++) dropped.add(line);
  }
  const indent = position(lineCounter, (first.key as Node).range?.[0] ?? 0).character;
  const after = pairLines(lineCounter, last).last;
  const out: string[] = [];
  let probe: LspPosition = { line: 0, character: indent };
  lines.forEach((line, index) => {
    if (!dropped.has(index)) out.push(line);
    if (index === after) {
      probe = { line: out.length, character: indent };
      out.push(" ".repeat(indent));
    }
  });
  return { text: out.join("\n"), position: probe, presentKeys: pairs.map(keyOf) };
}

/**
 * The document with the first device entry broken four ways (wrong type, value
 * outside an enum, size without a valid unit, unknown key) and an unknown
 * top-level key, plus where each diagnostic must appear.
 */
export function breakFirstDevice(text: string): { text: string; breakages: Breakage[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const devices = doc.get("devices", true);
  const device = isSeq(devices) ? devices.items[0] : undefined;
  if (!isMap(device)) throw new Error("the document has no device entry to break");
  const pairs = device.items;
  const first = pairs[0];
  if (!first) throw new Error("the first device entry is empty");
  const indent = position(lineCounter, (first.key as Node).range?.[0] ?? 0).character;
  const pad = " ".repeat(indent);

  const replaced = new Set(["threads", "execution-providers", "memory-budget", "colour"]);
  const dropped = new Set<number>();
  for (const pair of pairs) {
    if (!replaced.has(keyOf(pair))) continue;
    const { first: from, last: to } = pairLines(lineCounter, pair);
    for (let line = from; line <= to; line++) dropped.add(line);
  }
  const anchor = pairs.find((pair) => keyOf(pair) === "id") ?? first;
  const insertAfter = pairLines(lineCounter, anchor).last;

  const mistakes: { source: string; message: RegExp; atKey?: boolean }[] = [
    { source: `${pad}threads: four`, message: /^Incorrect type\. Expected "integer"/ },
    { source: `${pad}execution-providers: [quantum-accelerator]`, message: /^Value is not accepted\. Valid values: .*"cpu"/ },
    { source: `${pad}memory-budget: 2 gigabytes`, message: /does not match the pattern/ },
    { source: `${pad}colour: red`, message: /^Property colour is not allowed\./, atKey: true },
  ];

  const out: string[] = [];
  const breakages: Breakage[] = [];
  const source = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
  source.forEach((line, index) => {
    if (!dropped.has(index)) out.push(line);
    if (index === insertAfter) {
      for (const mistake of mistakes) {
        breakages.push({
          line: out.length,
          source: mistake.source,
          message: mistake.message,
          ...(mistake.atKey ? { character: indent } : {}),
        });
        out.push(mistake.source);
      }
    }
  });
  breakages.push({ line: out.length, character: 0, source: "relase: {}", message: /^Property relase is not allowed\./ });
  out.push("relase: {}");
  return { text: `${out.join("\n")}\n`, breakages };
}

/**
 * Appends a new entry `- <firstLine>` to the block sequence at `path` (indented
 * like its existing entries) and an empty key line inside it: a user adding,
 * say, a device.
 */
export function newEntryProbe(text: string, path: readonly (string | number)[], firstKey: string, firstValue: string): CompletionProbe {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const seq = doc.getIn(path, true);
  if (!isSeq(seq) || seq.flow) throw new Error(`no block sequence at ${path.join(".")}`);
  const last = seq.items[seq.items.length - 1];
  if (!isMap(last) || !last.items[0]) throw new Error(`the last entry of ${path.join(".")} is not a mapping`);
  const lastPairs = last.items;
  const keyIndent = position(lineCounter, (lastPairs[0]?.key as Node).range?.[0] ?? 0).character;
  const dashIndent = keyIndent - 2;
  const after = pairLines(lineCounter, lastPairs[lastPairs.length - 1] as Pair).last;
  const lines = text.split("\n");
  lines.splice(after + 1, 0, `${" ".repeat(dashIndent)}- ${firstKey}: ${firstValue}`, " ".repeat(keyIndent));
  return { text: lines.join("\n"), position: { line: after + 2, character: keyIndent }, presentKeys: [firstKey] };
}
