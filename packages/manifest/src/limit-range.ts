import type { MetricName } from "./types.js";
import { METRICS } from "./metrics.js";
import { error, type Problem } from "./problem.js";

/**
 * A gate limit that cannot mean what its author wanted: a `max` no value can
 * meet (perplexity below 1, zero memory), or a `min` every value meets
 * (agreement of at least 0). Both leave the gate deciding nothing, so both
 * are refused.
 */
export function limitRangeProblem(metric: MetricName, bound: "max" | "min", value: number, written: unknown, pointer: string): Problem | undefined {
  const { low, lowIncluded, high, words, example } = METRICS[metric].range;
  // Negative numbers and values above the top are the schema's to report (as out of range); -0 passes it, and is caught here.
  if (value < 0 || (high !== undefined && value > high)) return undefined;
  const shown = `\`${metric}\` ${bound} of ${show(written, value)}`;
  if (bound === "max") {
    if (value < low || (value === low && !lowIncluded)) {
      return error("gate/never-passes", pointer, `${shown} can never pass: ${words}`, `give the largest acceptable value, e.g. ${example}`);
    }
    if (high !== undefined && value === high) return error("gate/always-passes", pointer, `${shown} always passes: ${words}`, "remove `max`; it checks nothing");
    return undefined;
  }
  if (value <= low) return error("gate/always-passes", pointer, `${shown} always passes: ${words}`, `remove \`min\`, or give the smallest acceptable value, e.g. ${example}`);
  return undefined;
}

/** The value as written (`0B`, `-0`), not as normalized. */
function show(written: unknown, value: number): string {
  if (typeof written === "string") return written;
  return Object.is(value, -0) ? "-0" : String(value);
}
