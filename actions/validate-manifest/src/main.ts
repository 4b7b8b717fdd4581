import { existsSync, statSync } from "node:fs";
import * as core from "@actions/core";
import {
  annotate,
  ConfigurationError,
  details,
  diagnosticsTable,
  escapeHtml,
  getBooleanInput,
  getPathInput,
  heading,
  paragraph,
  setOutputs,
  workspaceDirectory,
  writeSummary,
} from "@slmops/action-kit";
import { compareDiagnostics } from "@slmops/diagnostics";
import { loadManifest } from "@slmops/manifest";

/** Step outputs are capped by GitHub at 1 MiB per job; a larger manifest is not set as an output. */
const MAX_OUTPUT_BYTES = 1024 * 1024 - 4096;

/**
 * The action: validate the manifest named by the `manifest` input, annotate
 * each problem on its file and line, list them in the job summary, and set
 * the `valid`, `manifest` and `problem-count` outputs.
 */
export async function main(): Promise<void> {
  const workspace = workspaceDirectory();
  const manifest = getPathInput("manifest", { fallback: "slmops.yaml" });
  if (!manifest) throw new ConfigurationError("Input `manifest` is empty; name the manifest file, e.g. `slmops.yaml`.");
  const root = getPathInput("root");
  const checkFiles = getBooleanInput("check-files", { fallback: true });
  const failOnInvalid = getBooleanInput("fail-on-invalid", { fallback: true });

  if (!existsSync(manifest.absolute) || !statSync(manifest.absolute).isFile()) {
    throw new ConfigurationError(
      `Manifest \`${manifest.relative}\` not found in the workspace. Check out the repository first (actions/checkout) ` +
        "or set the `manifest` input to its path.",
    );
  }

  const result = await loadManifest(manifest.absolute, {
    root: root?.absolute,
    checkFiles,
    displayPath: manifest.relative,
  });
  const diagnostics = [...result.diagnostics].sort(compareDiagnostics);
  const failing = !result.ok && failOnInvalid;
  annotate(diagnostics, { workspace, reserveErrors: failing ? 1 : 0 });

  const manifestJson = result.ok ? JSON.stringify(result.manifest) : "";
  const tooLarge = Buffer.byteLength(manifestJson) > MAX_OUTPUT_BYTES;
  if (tooLarge) core.warning(`The normalized manifest is larger than GitHub allows for a step output; \`manifest\` is left empty.`);

  const verdict = result.ok
    ? `${manifest.relative} is valid${diagnostics.length > 0 ? ` (${count(diagnostics.length, "warning")})` : ""}.`
    : `${manifest.relative} is invalid: ${count(diagnostics.length, "problem")}.`;
  core.info(verdict);
  await writeSummary([
    heading(`slmops manifest: ${result.ok ? "valid" : "invalid"}`),
    paragraph(verdict),
    ...(diagnostics.length > 0 ? [diagnosticsTable(diagnostics, { workspace })] : []),
    ...(result.ok && !tooLarge
      ? [details("Normalized manifest", `<pre lang="json">${escapeHtml(JSON.stringify(result.manifest, null, 2))}</pre>`)]
      : []),
  ]);

  setOutputs({
    valid: result.ok ? "true" : "false",
    manifest: tooLarge ? "" : manifestJson,
    "problem-count": String(diagnostics.length),
  });

  if (failing) {
    throw new ConfigurationError(`${verdict} Each problem is annotated on its line and listed in the job summary.`);
  }
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
