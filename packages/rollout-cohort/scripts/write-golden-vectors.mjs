// Writes golden-vectors.json from the built package: `pnpm run golden-vectors`.
import { writeFileSync } from "node:fs";
import { goldenVectorsText } from "../dist/golden-vectors.js";

writeFileSync(new URL("../golden-vectors.json", import.meta.url), goldenVectorsText());
