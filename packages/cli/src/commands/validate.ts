import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { Diagnostic } from "@slmops/diagnostics";
import { ConfigurationError, compareDiagnostics } from "@slmops/diagnostics";
import type { Command, CommandContext } from "../command.js";
import { jsonOption } from "../command.js";
import { styleDiagnostic } from "../diagnostic-style.js";
import { ExitCode } from "../exit-codes.js";
import type { Style } from "../io.js";
import { MANIFEST_FILE_NAME, resolveManifestPath, type ManifestPathWording } from "../manifest-path.js";
import { count } from "../words.js";

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
  const file = await resolveManifestPath(context.positionals[0], io.cwd, wording);
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
    for (const diagnostic of diagnostics) io.stdout.write(`${styleDiagnostic(diagnostic, style, { emphasis: true })}\n`);
    io.stdout.write(`${summaryLine(file.display, result.ok, diagnostics, style)}\n`);
  }
  return result.ok ? ExitCode.ok : ExitCode.failure;
}

/** The manifest is the positional argument. */
const wording: ManifestPathWording = {
  noneInWorkingDirectory: (cwd) =>
    `No ${MANIFEST_FILE_NAME} in ${cwd} or a directory above it. Run slmops in the repository that holds it, or pass its path: slmops validate path/to/${MANIFEST_FILE_NAME}`,
  notFound: (given) => `${given}: no such file or directory. Check the path, or pass the directory that holds ${MANIFEST_FILE_NAME}.`,
  directoryWithoutManifest: (_given, display) => `${display}: no such file. The directory has no ${MANIFEST_FILE_NAME}.`,
};

async function resolveRoot(given: string, cwd: string): Promise<string> {
  const absolute = resolve(cwd, given);
  const info = await stat(absolute).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new ConfigurationError(`--root ${given}: not a directory. Pass the repository's top directory.`);
  }
  return absolute;
}

function summaryLine(file: string, ok: boolean, diagnostics: readonly Diagnostic[], style: Style): string {
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.filter((d) => d.severity === "warning").length;
  if (ok) {
    return warnings > 0
      ? `${style.green("✓")} ${file} is valid (${count(warnings, "warning")}).`
      : `${style.green("✓")} ${file} is valid.`;
  }
  const parts = [count(errors, "error"), ...(warnings > 0 ? [count(warnings, "warning")] : [])];
  return `${style.red("✗")} ${file} is invalid: ${parts.join(", ")}.`;
}
