/* global process, performance */
// Runs one optimizeModel call in its own process so its peak resident set
// (measured by the OS) belongs to that call alone. Prints one JSON line.
//
// On Linux the peak is VmHWM from /proc/self/status: getrusage's ru_maxrss
// carries the parent's peak across fork and exec, so it would report the
// benchmark process, not this one. Elsewhere ru_maxrss is the fallback.
import { readFileSync } from "node:fs";
import { optimizeModel } from "../dist/index.js";

function memory(field) {
  try {
    const line = readFileSync("/proc/self/status", "utf8").split("\n").find((l) => l.startsWith(`${field}:`));
    if (line) return Number.parseInt(line.split(/\s+/)[1], 10) * 1024;
  } catch {
    // not Linux
  }
  return field === "VmHWM" ? process.resourceUsage().maxRSS * 1024 : process.memoryUsage().rss;
}

const [source, outDir, passesJson, calibrationFile] = process.argv.slice(2);
const startRssBytes = memory("VmRSS");
const t0 = performance.now();
const calibration = calibrationFile ? JSON.parse(readFileSync(calibrationFile, "utf8")) : undefined;
const record = await optimizeModel({ source, outDir, passes: JSON.parse(passesJson), ...(calibration ? { calibration } : {}) });
const wallMs = performance.now() - t0;
process.stdout.write(JSON.stringify({ record, wallMs, peakRssBytes: memory("VmHWM"), startRssBytes }) + "\n");
