/**
 * The device's check: the files on disk are exactly a variant's identity —
 * every file there, of its length, with its sha256, and nothing else.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { COMPLETE_MARKER, UnreadableFileError } from "@slmops/contained-fs";
import { ConfigurationError } from "@slmops/diagnostics";
import { hashVariantFile, variantDigest, type VariantFiles } from "./identity.js";

/** How a file on disk differs from the identity. */
export type VariantProblemKind = "missing" | "not-a-file" | "shorter" | "longer" | "content" | "extra";

export interface VariantProblem {
  /** The file's name relative to the variant's directory. */
  readonly name: string;
  readonly kind: VariantProblemKind;
  /** What is wrong, in words. */
  readonly message: string;
}

/** Files on disk that are not the identity they should be; lists every difference. */
export class VariantMismatchError extends ConfigurationError {
  constructor(
    readonly dir: string,
    readonly problems: readonly VariantProblem[],
  ) {
    super(`the variant in ${dir} is not the one expected: ${problems.map((p) => p.message).join("; ")}`);
  }
}

/**
 * Checks the files in `dir` against `expected`: each file is read once (no
 * links followed below `dir`) and must have exactly its length and sha256;
 * a file missing, shorter, longer or changed, and any file or directory in
 * `dir` that the identity does not name, is refused with a
 * {@link VariantMismatchError} listing every difference. The one entry
 * ignored is the completeness marker of a published build directory
 * (`.complete`, top level). `expected.digest` must be the digest of
 * `expected.files` (a ConfigurationError otherwise), so checking the files
 * checks the digest a release signed. Returns `expected`.
 */
export async function verifyVariantFiles(dir: string, expected: VariantFiles): Promise<VariantFiles> {
  const digest = variantDigest(expected.files);
  if (digest !== expected.digest) {
    throw new ConfigurationError(`the expected variant's digest ${expected.digest} is not the digest of its files (${digest}); the identity is corrupt`);
  }
  const problems: VariantProblem[] = [];
  for (const file of expected.files) {
    let actual;
    try {
      actual = await hashVariantFile(dir, file.name);
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      const missing = error instanceof UnreadableFileError && error.reason === "missing";
      problems.push({ name: file.name, kind: missing ? "missing" : "not-a-file", message: missing ? `${file.name} is missing` : `${file.name}: ${error.message}` });
      continue;
    }
    if (actual.bytes < file.bytes) problems.push({ name: file.name, kind: "shorter", message: `${file.name} is ${actual.bytes} bytes, ${file.bytes} expected` });
    else if (actual.bytes > file.bytes) problems.push({ name: file.name, kind: "longer", message: `${file.name} is ${actual.bytes} bytes, ${file.bytes} expected` });
    else if (actual.sha256 !== file.sha256) problems.push({ name: file.name, kind: "content", message: `${file.name} has sha256 ${actual.sha256}, ${file.sha256} expected` });
  }
  for (const name of await extraEntries(dir, expected)) {
    problems.push({ name, kind: "extra", message: `${name} is not part of the variant` });
  }
  if (problems.length > 0) throw new VariantMismatchError(dir, problems);
  return expected;
}

/** Entries below `dir` the identity does not name (a directory is named when it holds a named file). */
async function extraEntries(dir: string, expected: VariantFiles): Promise<string[]> {
  const files = new Set(expected.files.map((f) => f.name));
  const directories = new Set<string>();
  for (const name of files) {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) directories.add(parts.slice(0, i).join("/"));
  }
  const extra: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(relative === "" ? dir : join(dir, ...relative.split("/")), { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || error.code === "ENOTDIR") return [];
      throw error;
    });
    for (const entry of entries) {
      const name = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (relative === "" && entry.name === COMPLETE_MARKER) continue;
      if (files.has(name)) continue;
      if (directories.has(name) && entry.isDirectory()) await walk(name);
      else extra.push(name);
    }
  };
  await walk("");
  return extra.sort();
}
