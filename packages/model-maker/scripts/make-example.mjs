// Writes the example project's model files (examples/story-lm): the `nano`
// preset with an untied head fitted to the story corpus, so perplexity and the
// accuracy of optimized variants mean something. Run after building:
// `pnpm --filter @slmops/model-maker make-example`.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { repositoryLayout, writeModelProject } from "../dist/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const written = await writeModelProject(join(root, "examples", "story-lm"), { preset: "nano", tied: false, fit: "bigram" }, { layout: repositoryLayout("story-lm") });
console.log(`story-lm: ${written.parameters.toLocaleString("en-US")} parameters`);
for (const [file, bytes] of Object.entries(written.bytes)) console.log(`  ${file}: ${bytes.toLocaleString("en-US")} bytes`);
