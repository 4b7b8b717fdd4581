/* global process, performance */
// Runs one optimizeModel call in its own process so its peak resident set
// (measured by the OS) belongs to that call alone. Prints one JSON line.
import { optimizeModel } from "../dist/index.js";

const [source, outDir, passesJson] = process.argv.slice(2);
const baseline = process.resourceUsage().maxRSS * 1024;
const t0 = performance.now();
const record = await optimizeModel({ source, outDir, passes: JSON.parse(passesJson) });
const wallMs = performance.now() - t0;
process.stdout.write(
  JSON.stringify({ record, wallMs, peakRssBytes: process.resourceUsage().maxRSS * 1024, startRssBytes: baseline }) + "\n",
);
