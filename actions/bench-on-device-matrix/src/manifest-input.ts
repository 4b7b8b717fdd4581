/**
 * The manifest named by the `manifest` and `root` inputs, loaded; a manifest
 * that does not load is annotated on its lines and fails the step.
 */
import { existsSync, statSync } from "node:fs";
import { annotate, ConfigurationError, getPathInput, workspaceDirectory } from "@slmops/action-kit";
import { loadManifest } from "@slmops/manifest";
import type { Manifest } from "@slmops/manifest";

export interface LoadedManifest {
  readonly manifest: Manifest;
  /** Absolute path of the manifest file. */
  readonly file: string;
  /** Absolute repository root the manifest's paths resolve against. */
  readonly root: string;
  /** The manifest's path relative to the workspace. */
  readonly display: string;
}

export async function loadActionManifest(options: { readonly checkFiles: boolean }): Promise<LoadedManifest> {
  const input = getPathInput("manifest", { fallback: "slmops.yaml" });
  if (!input) throw new ConfigurationError("Input `manifest` is empty; name the manifest file, e.g. `slmops.yaml`.");
  if (!existsSync(input.absolute) || !statSync(input.absolute).isFile()) {
    throw new ConfigurationError(
      `Manifest \`${input.relative}\` not found in the workspace. Check out the repository first (actions/checkout) or set the \`manifest\` input to its path.`,
    );
  }
  const root = getPathInput("root");
  const result = await loadManifest(input.absolute, { root: root?.absolute, checkFiles: options.checkFiles, displayPath: input.relative });
  if (!result.ok) {
    annotate(result.diagnostics, { workspace: workspaceDirectory(), reserveErrors: 1 });
    const errors = result.diagnostics.filter((d) => d.severity === "error").length;
    throw new ConfigurationError(`${input.relative} is invalid (${errors} error${errors === 1 ? "" : "s"}, annotated on their lines); run \`slmops validate\` to see them locally.`);
  }
  return { manifest: result.manifest, file: result.file, root: result.root, display: input.relative };
}
