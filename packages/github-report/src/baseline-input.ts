/**
 * The baseline as the verdict needs it: the base branch's report artifact,
 * read into device results — or plainly why there is none.
 */
import type { BaselineInput } from "@slmops/gate";
import { findBaseline, type FindBaselineOptions } from "./baseline.js";
import type { GitHubClient } from "./client.js";

/**
 * Finds the base branch's latest report artifact and reads the bench reports
 * in it (validated; a damaged report throws `ConfigurationError`, an edited
 * one is refused and named by the regression checks that needed it).
 */
export async function baselineFromGitHub(client: GitHubClient, options: FindBaselineOptions): Promise<BaselineInput> {
  const found = await findBaseline(client, options);
  if (found.status === "missing") return found;
  // Loaded on demand: reading reports brings in the bench package.
  const { loadReportsFromFiles } = await import("@slmops/gate/reports");
  const reports = loadReportsFromFiles(found.files, `artifact "${found.artifact.name}" of ${found.source}`);
  if (reports.files.length === 0) return { status: "missing", reason: `artifact "${found.artifact.name}" of ${found.source} holds no bench reports` };
  return { status: "found", source: found.source, results: reports.results, refused: reports.failures.filter((f) => f.refused) };
}
