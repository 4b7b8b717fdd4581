import type { ManifestSuccess } from "@slmops/manifest";
import { compareDiagnostics } from "@slmops/diagnostics";
import { styleDiagnostic } from "./diagnostic-style.js";
import type { Io, Style } from "./io.js";
import type { ManifestPath } from "./manifest-path.js";
import { count } from "./words.js";

/**
 * Loads the manifest a command works from, files checked, and writes its
 * diagnostics to stderr (styled with `style`). An invalid manifest is
 * summed up in one line pointing at `slmops validate`, and gives undefined.
 */
export async function loadValidManifest(file: ManifestPath, io: Io, style: Style): Promise<ManifestSuccess | undefined> {
  const { loadManifest } = await import("@slmops/manifest");
  const loaded = await loadManifest(file.absolute, { checkFiles: true, displayPath: file.display });
  const diagnostics = [...loaded.diagnostics].sort(compareDiagnostics);
  for (const d of diagnostics) io.stderr.write(`${styleDiagnostic(d, style)}\n`);
  if (loaded.ok) return loaded;
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  io.stderr.write(`${style.red("✗")} ${file.display} is invalid: ${count(errors, "error")}. Fix it (see \`slmops validate\`) and run again.\n`);
  return undefined;
}
