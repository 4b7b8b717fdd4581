import { realpath } from "node:fs/promises";
import { readRegularFile, UnreadableFileError } from "@slmops/contained-fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { compareDiagnostics, ConfigurationError, type Diagnostic, positionOfOffset, type SourcePosition } from "@slmops/diagnostics";
import { formatSize } from "@slmops/units";
import { LineCounter, parseDocument } from "yaml";
import { coverageWarnings } from "./coverage.js";
import { findExcessiveNesting } from "./depth.js";
import { LIMITS } from "./limits.js";
import { normalize } from "./normalize.js";
import type { Problem } from "./problem.js";
import type { RawObject } from "./raw.js";
import { checkSchema } from "./schema-check.js";
import { checkSemantics } from "./semantic.js";
import { decodeManifestText } from "./text.js";
import { type NodeSpan, toPlainTree } from "./tree.js";
import type { LoadManifestOptions, ManifestFailure, ManifestResult, ManifestSuccess } from "./types.js";

/** Problems after which the data is not worth validating further. */
const FATAL_TREE_PROBLEMS = new Set(["manifest/alias-bomb", "manifest/too-deep", "yaml/unresolved-alias", "yaml/recursive-alias"]);

const YAML_HINTS: Readonly<Record<string, string>> = {
  TAB_AS_INDENT: "indent with spaces; YAML does not allow tabs for indentation",
  MULTIPLE_DOCS: "slmops.yaml holds one document; remove the extra `---` and what follows, or merge it",
  BAD_INDENT: "check the indentation (entries of one mapping or list start in the same column) and that every `[` and `{` is closed",
  MISSING_CHAR: "a bracket, brace or quote is not closed",
  MULTILINE_IMPLICIT_KEY: "a key must fit on one line; is a `:` or a closing quote missing above?",
  BLOCK_AS_IMPLICIT_KEY: "is a `:` missing, or a value indented too little?",
  UNEXPECTED_TOKEN: "check the line for a stray character or a missing quote",
  BAD_ALIAS: "an alias is written `*name` after an anchor `&name`",
};

/**
 * Reads, parses, validates and normalizes an slmops.yaml file. User mistakes
 * come back as diagnostics (never thrown); the file is read with a size limit.
 */
export async function loadManifest(path: string, options: LoadManifestOptions = {}): Promise<ManifestResult> {
  const file = resolve(path);
  const root = resolve(options.root ?? dirname(file));
  const displayPath = options.displayPath ?? displayName(file);
  const read = await readBounded(file);
  if (!read.ok) return failure(file, [fileDiagnostic(displayPath, read.code, read.message, read.hint)]);
  return parseManifest(read.bytes, { ...options, file, root, displayPath });
}

/** Like `loadManifest`, but returns only a loaded manifest and throws a `ConfigurationError` carrying every diagnostic otherwise. */
export async function loadManifestOrThrow(path: string, options: LoadManifestOptions = {}): Promise<ManifestSuccess> {
  const result = await loadManifest(path, options);
  if (result.ok) return result;
  const errors = result.diagnostics.filter((d) => d.severity === "error").length;
  const name = options.displayPath ?? displayName(result.file);
  throw new ConfigurationError(`${name} is not a valid manifest (${errors} problem${errors === 1 ? "" : "s"})`, { diagnostics: result.diagnostics });
}

/**
 * Parses and validates manifest text that is already in memory. `file` names
 * the manifest (absolute or relative to the working directory) and `root` is
 * the repository root that paths resolve against and must stay inside.
 */
export async function parseManifest(text: string | Uint8Array, options: LoadManifestOptions & { file: string; root: string }): Promise<ManifestResult> {
  const file = resolve(options.file);
  const root = resolve(options.root);
  const displayPath = options.displayPath ?? displayName(file);
  const fail = (code: string, message: string, hint?: string, position: SourcePosition = { line: 1, column: 1 }) =>
    failure(file, [fileDiagnostic(displayPath, code, message, hint, position)]);

  const size = typeof text === "string" ? Buffer.byteLength(text) : text.byteLength;
  if (size > LIMITS.maxBytes) return fail("manifest/too-large", tooLargeMessage(size), tooLargeHint());

  const decoded = decodeManifestText(text);
  if (!decoded.ok) return fail("manifest/not-text", decoded.message, decoded.hint, decoded.position);
  const source = decoded.text;

  if (isEffectivelyEmpty(source)) {
    return fail("manifest/empty", "the manifest is empty", "start with `version: 1` and a `models:` list; see examples/story-lm/slmops.yaml");
  }
  const deep = findExcessiveNesting(source, LIMITS.maxDepth);
  if (deep) {
    return fail("manifest/too-deep", `the manifest nests deeper than ${LIMITS.maxDepth} levels`, "a manifest needs only a few levels of nesting; check for unclosed brackets", positionOfOffset(source, deep.offset));
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, uniqueKeys: false, prettyErrors: false, strict: true, version: "1.2", schema: "core", merge: false, stringKeys: false });
  const position = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const diagnostics: Diagnostic[] = [];
  // After one unexpected token the parser reports every later token too; the first one says what there is to fix.
  const cascade = doc.errors.filter((e) => e.code === "UNEXPECTED_TOKEN").length - 1;
  let seenUnexpected = false;
  for (const e of doc.errors) {
    if (e.code === "UNEXPECTED_TOKEN") {
      if (seenUnexpected) continue;
      seenUnexpected = true;
    }
    const hint = e.code === "UNEXPECTED_TOKEN" && cascade > 0 ? `${YAML_HINTS[e.code]} (the ${cascade} similar error${cascade === 1 ? "" : "s"} after it follow from this one)` : YAML_HINTS[e.code];
    diagnostics.push(spanDiagnostic(displayPath, "error", `yaml/${e.code.toLowerCase().replace(/_/gu, "-")}`, yamlMessage(e.message, e.code), hint, position(e.pos[0]), position(e.pos[1])));
  }
  for (const w of doc.warnings) {
    diagnostics.push(spanDiagnostic(displayPath, "warning", `yaml/${w.code.toLowerCase().replace(/_/gu, "-")}`, yamlMessage(w.message, w.code), YAML_HINTS[w.code], position(w.pos[0]), position(w.pos[1])));
  }
  if (diagnostics.some((d) => d.severity === "error")) return failure(file, diagnostics);

  const tree = toPlainTree(doc, LIMITS);
  for (const p of tree.problems) {
    diagnostics.push(spanDiagnostic(displayPath, "error", p.code, p.message, p.hint, position(p.start), position(p.end)));
  }
  if (tree.problems.some((p) => FATAL_TREE_PROBLEMS.has(p.code))) return failure(file, diagnostics);

  const data = tree.value;
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    if (data === null && doc.contents === null) return fail("manifest/empty", "the manifest is empty", "start with `version: 1` and a `models:` list");
    const what = Array.isArray(data) ? "a list" : data === null ? "empty" : `the value \`${String(data).slice(0, 40)}\``;
    const at = doc.contents?.range ? position(doc.contents.range[0]) : { line: 1, column: 1 };
    return failure(file, [
      ...diagnostics,
      fileDiagnostic(displayPath, "manifest/not-a-mapping", `the manifest must be a mapping of keys such as \`version\` and \`models\`, but it is ${what}`, "start with `version: 1` on its own line, then `models:`", at),
    ]);
  }

  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    return failure(file, [...diagnostics, fileDiagnostic(displayPath, "manifest/no-root", `the repository root \`${root}\` does not exist`)]);
  }
  const problems: Problem[] = [...checkSchema(data), ...(await checkSemantics(data, { root, realRoot, checkFiles: options.checkFiles ?? true }))];
  for (const p of problems) diagnostics.push(problemDiagnostic(displayPath, p, tree.spans, position));
  diagnostics.sort(compareDiagnostics);

  if (diagnostics.some((d) => d.severity === "error")) return failure(file, diagnostics);
  const manifest = normalize(data as RawObject, root);
  const spans = tree.spans;
  for (const p of coverageWarnings(manifest)) diagnostics.push(problemDiagnostic(displayPath, p, spans, position));
  diagnostics.sort(compareDiagnostics);
  return Object.freeze({
    ok: true as const,
    manifest,
    diagnostics: Object.freeze(diagnostics),
    file,
    root,
    locate(pointer: string): SourcePosition | undefined {
      const span = spans.get(pointer);
      return span ? position(span.start) : undefined;
    },
  });
}

function failure(file: string, diagnostics: Diagnostic[]): ManifestFailure {
  return Object.freeze({ ok: false as const, diagnostics: Object.freeze([...diagnostics].sort(compareDiagnostics)), file });
}

function displayName(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel === "" || isAbsolute(rel) ? file.split(sep).join("/") : rel.split(sep).join("/");
}

function fileDiagnostic(file: string, code: string, message: string, hint?: string, position: SourcePosition = { line: 1, column: 1 }): Diagnostic {
  return { severity: "error", code, message, file, line: position.line, column: position.column, ...(hint ? { hint } : {}) };
}

function spanDiagnostic(file: string, severity: Diagnostic["severity"], code: string, message: string, hint: string | undefined, start: SourcePosition, end: SourcePosition, pointer?: string): Diagnostic {
  return {
    severity,
    code,
    message,
    file,
    line: start.line,
    column: start.column,
    endLine: end.line,
    endColumn: end.column,
    ...(hint ? { hint } : {}),
    ...(pointer !== undefined ? { pointer } : {}),
  };
}

/** Places a problem at its value (or key); a pointer with no node (a missing key) falls back to its nearest ancestor. */
function problemDiagnostic(file: string, p: Problem, spans: ReadonlyMap<string, NodeSpan>, position: (offset: number) => SourcePosition): Diagnostic {
  let pointer = p.pointer;
  let span = spans.get(pointer);
  while (!span && pointer !== "") {
    pointer = pointer.slice(0, pointer.lastIndexOf("/"));
    span = spans.get(pointer);
  }
  const useKey = p.at === "key" && span?.keyStart !== undefined && pointer === p.pointer;
  const start = span ? (useKey ? (span.keyStart ?? span.start) : span.start) : 0;
  const end = span ? (useKey ? (span.keyEnd ?? span.end) : span.end) : 0;
  return spanDiagnostic(file, p.severity, p.code, p.message, p.hint, position(start), position(end), p.pointer);
}

function yamlMessage(message: string, code: string): string {
  if (code === "MULTIPLE_DOCS") return "the manifest holds more than one YAML document";
  const first = message.split("\n")[0] ?? message;
  const trimmed = first.replace(/ at line \d+, column \d+:?$/u, "");
  return trimmed.charAt(0).toLowerCase() + trimmed.slice(1);
}

function tooLargeMessage(size: number): string {
  return `the manifest is ${formatSize(size)}; manifests larger than ${formatSize(LIMITS.maxBytes)} are refused`;
}

function tooLargeHint(): string {
  return "a manifest describes models and devices in a few kilobytes; is this the right file?";
}

/** True for text that holds nothing but whitespace, comments and document markers. */
function isEffectivelyEmpty(text: string): boolean {
  return /^(?:\s|#[^\n]*|---|\.\.\.)*$/u.test(text);
}

type BoundedRead = { ok: true; bytes: Uint8Array } | { ok: false; code: string; message: string; hint?: string };

/**
 * Reads the manifest through the one bounded reader of untrusted files: a
 * FIFO or device is refused without blocking, the size is checked before
 * reading and the read stops one byte past the limit. Its reasons become the
 * manifest's own diagnostics (the file is already named by the diagnostic).
 */
async function readBounded(file: string): Promise<BoundedRead> {
  try {
    return { ok: true, bytes: await readRegularFile(file, { maxBytes: LIMITS.maxBytes, what: "manifest" }) };
  } catch (error) {
    if (!(error instanceof UnreadableFileError)) throw error;
    return unreadable(error);
  }
}

function unreadable(error: UnreadableFileError): BoundedRead & { ok: false } {
  const directory = { code: "manifest/not-a-file", message: "the manifest path is a directory", hint: "pass the path of the slmops.yaml file" };
  switch (error.reason) {
    case "missing":
      return { ok: false, code: "manifest/missing", message: "the manifest does not exist", hint: "create slmops.yaml at the repository root, or pass its path" };
    case "directory":
      return { ok: false, ...directory };
    case "not-a-file":
    case "symlink":
      return {
        ok: false,
        code: "manifest/not-a-file",
        message: "the manifest is not a regular file (a named pipe, socket or device); it is refused rather than read, since reading it could block forever",
        hint: "pass the path of the slmops.yaml file",
      };
    case "too-large": {
      const size = error.size ?? LIMITS.maxBytes + 1;
      // Past the limit by one byte means the file grew while it was read: its real size is unknown.
      const message = size > LIMITS.maxBytes + 1 ? tooLargeMessage(size) : `the manifest is larger than ${formatSize(LIMITS.maxBytes)}, the largest accepted`;
      return { ok: false, code: "manifest/too-large", message, hint: tooLargeHint() };
    }
    case "permission":
      return { ok: false, code: "manifest/unreadable", message: "the manifest cannot be read (permission denied)", hint: "check the file's permissions" };
    case "io":
      return { ok: false, code: "manifest/unreadable", message: `the manifest could not be read: ${(error.cause as Error | undefined)?.message ?? error.message}` };
  }
}
