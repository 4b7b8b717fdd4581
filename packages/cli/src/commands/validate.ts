import { stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import type { Diagnostic } from "@slmops/diagnostics";
import { ConfigurationError, compareDiagnostics, formatDiagnostic } from "@slmops/diagnostics";
import type { Command, CommandContext } from "../command.js";
import { jsonOption } from "../command.js";
import { ExitCode } from "../exit-codes.js";
import type { Style } from "../io.js";

/** The manifest file name looked for when a directory (or nothing) is given. */
export const MANIFEST_FILE_NAME = "slmops.yaml";

/** `slmops validate --json` output. */
export interface ValidateJson {
  readonly valid: boolean;
  readonly file: string;
  readonly diagnostics: readonly Diagnostic[];
  /** The normalized manifest, defaults applied; only when valid. */
  readonly manifest?: unknown;
}

export const validateCommand: Command = {
  name: "validate",
  summary: "check slmops.yaml: schema, references, units and paths, every problem at its file:line:col",
  description:
    "Reads the manifest, validates it against the schema, then checks what the schema cannot: unique ids,\n" +
    "references that resolve, units that parse, and paths that exist inside the repository.\n" +
    "Exits 0 when it is valid, 1 when it is not.",
  positionals: [{ name: "path", description: `the manifest, or a directory holding ${MANIFEST_FILE_NAME} (default ./${MANIFEST_FILE_NAME})`, optional: true }],
  options: {
    root: { type: "string", valueName: "dir", description: "repository root that paths must stay inside (default: the manifest's directory)" },
    json: jsonOption,
  },
  examples: ["slmops validate", "slmops validate examples/story-lm/slmops.yaml", "slmops validate --json | jq .valid"],
  run: runValidate,
};

async function runValidate(context: CommandContext): Promise<number> {
  const { io, style } = context;
  const json = context.values.json === true;
  const file = await resolveManifestPath(context.positionals[0], io.cwd);
  const root = typeof context.values.root === "string" ? await resolveRoot(context.values.root, io.cwd) : undefined;
  const { loadManifest } = await import("@slmops/manifest");
  const result = await loadManifest(file.absolute, { root, checkFiles: true, displayPath: file.display });
  const diagnostics = [...result.diagnostics].sort(compareDiagnostics);

  if (json) {
    const output: ValidateJson = result.ok
      ? { valid: true, file: file.display, diagnostics, manifest: result.manifest }
      : { valid: false, file: file.display, diagnostics };
    io.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  } else {
    for (const diagnostic of diagnostics) io.stdout.write(`${formatColored(diagnostic, style)}\n`);
    io.stdout.write(`${summaryLine(file.display, result.ok, diagnostics, style)}\n`);
  }
  return result.ok ? ExitCode.ok : ExitCode.failure;
}

interface ManifestPath {
  readonly absolute: string;
  /** As the user should see it: relative to the working directory unless given absolute. */
  readonly display: string;
}

async function resolveManifestPath(given: string | undefined, cwd: string): Promise<ManifestPath> {
  let absolute = resolve(cwd, given ?? MANIFEST_FILE_NAME);
  const info = await stat(absolute).catch(() => undefined);
  if (info?.isDirectory()) absolute = join(absolute, MANIFEST_FILE_NAME);
  else if (!info) {
    const shown = given ?? MANIFEST_FILE_NAME;
    throw new ConfigurationError(
      given === undefined
        ? `No ${MANIFEST_FILE_NAME} in ${cwd}. Run slmops in the repository that holds it, or pass its path: slmops validate path/to/${MANIFEST_FILE_NAME}`
        : `${shown}: no such file or directory. Check the path, or pass the directory that holds ${MANIFEST_FILE_NAME}.`,
    );
  }
  if (info?.isDirectory() && !(await stat(absolute).catch(() => undefined))?.isFile()) {
    throw new ConfigurationError(`${displayOf(absolute, given, cwd)}: no such file. The directory has no ${MANIFEST_FILE_NAME}.`);
  }
  return { absolute, display: displayOf(absolute, given, cwd) };
}

function displayOf(absolute: string, given: string | undefined, cwd: string): string {
  if (given !== undefined && isAbsolute(given)) return absolute;
  return relative(cwd, absolute).split(sep).join("/");
}

async function resolveRoot(given: string, cwd: string): Promise<string> {
  const absolute = resolve(cwd, given);
  const info = await stat(absolute).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new ConfigurationError(`--root ${given}: not a directory. Pass the repository's top directory.`);
  }
  return absolute;
}

function formatColored(diagnostic: Diagnostic, style: Style): string {
  const text = formatDiagnostic(diagnostic);
  const paint = diagnostic.severity === "error" ? style.red : diagnostic.severity === "warning" ? style.yellow : style.cyan;
  const marker = `: ${diagnostic.severity}: `;
  const at = text.indexOf(marker);
  if (at < 0) return text;
  const [head = "", ...hint] = text.slice(at + marker.length).split("\n");
  const location = style.bold(text.slice(0, at));
  const lines = [`${location}: ${paint(`${diagnostic.severity}:`)} ${head}`, ...hint.map((l) => style.dim(l))];
  return lines.join("\n");
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function summaryLine(file: string, ok: boolean, diagnostics: readonly Diagnostic[], style: Style): string {
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.filter((d) => d.severity === "warning").length;
  if (ok) {
    return warnings > 0
      ? `${style.green("✓")} ${file} is valid (${plural(warnings, "warning")}).`
      : `${style.green("✓")} ${file} is valid.`;
  }
  const parts = [plural(errors, "error"), ...(warnings > 0 ? [plural(warnings, "warning")] : [])];
  return `${style.red("✗")} ${file} is invalid: ${parts.join(", ")}.`;
}
