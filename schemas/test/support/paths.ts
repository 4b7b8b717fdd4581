/** Where the files under test live, from this package's own location. */
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The `schemas/` directory (this package). */
export const schemasDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The repository root. */
export const repoRoot = path.dirname(schemasDir);
/** The schema of slmops.yaml. */
export const manifestSchemaPath = path.join(schemasDir, "slmops.schema.json");
/** The example project's manifest, which declares its schema with a `# yaml-language-server: $schema=` line. */
export const exampleManifestPath = path.join(repoRoot, "examples", "story-lm", "slmops.yaml");
