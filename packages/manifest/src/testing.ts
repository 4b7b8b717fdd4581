/**
 * Test support (`@slmops/manifest/testing`): example projects whose manifest
 * validates as written. For tests only.
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadManifest } from "./load.js";

/**
 * A copy of an example project's manifest with a placeholder at every file it
 * names (models, eval sets, tokenizers are produced by the pipeline, not
 * committed), so the manifest itself can be validated as written.
 */
export async function exampleProject(manifestPath: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "example-project-"));
  copyFileSync(manifestPath, join(dir, "slmops.yaml"));
  const result = await loadManifest(join(dir, "slmops.yaml"), { checkFiles: false });
  if (!result.ok) throw new Error(`the example manifest does not load: ${result.diagnostics.map((d) => d.message).join("; ")}`);
  const files = result.manifest.models.flatMap((m) => [m.source, m.eval?.dataset, m.eval?.tokenizer]);
  for (const file of files) {
    if (!file) continue;
    mkdirSync(dirname(file.resolved), { recursive: true });
    writeFileSync(file.resolved, "placeholder");
  }
  return dir;
}
