/**
 * The run's plan as the verdict needs it: the (device, variant) pairs of the
 * device matrix that `bench-on-device-matrix` planned, and the devices it
 * refused (a fork's pull request on self-hosted runners) — those fail the
 * verdict with the reason rather than passing for lack of a report.
 */
import type { PlannedPair, ReportedFailure } from "@slmops/gate";
import { ConfigurationError } from "@slmops/diagnostics";

const MAX_ENTRIES = 1000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function entries(value: unknown, input: string, example: string): Record<string, unknown>[] {
  const list = input === "plan" ? (isObject(value) ? value.include : undefined) : value;
  if (!Array.isArray(list) || list.length > MAX_ENTRIES || !list.every(isObject)) {
    throw new ConfigurationError(`Input \`${input}\` must be ${example}, as bench-on-device-matrix's plan mode outputs it.`);
  }
  return list;
}

function pairsOf(entry: Record<string, unknown>, input: string): PlannedPair[] {
  const { device, variants } = entry;
  if (typeof device !== "string" || device === "" || !Array.isArray(variants) || !variants.every((v) => typeof v === "string" && v !== "")) {
    throw new ConfigurationError(`Input \`${input}\`: every entry needs a \`device\` id and its \`variants\` as \`model/variant\` strings.`);
  }
  return (variants as string[]).map((variant) => ({ device, variant }));
}

/**
 * The planned pairs and the refused pairs' failures, from the plan job's
 * `matrix` and `refused` outputs (JSON). Without a matrix, `fallback` (every
 * device and variant of the manifest) is the plan.
 */
export function planFromInputs(matrix: unknown, refused: unknown, fallback: readonly PlannedPair[]): { plan: PlannedPair[]; failures: ReportedFailure[] } {
  const plan = matrix === undefined ? [...fallback] : entries(matrix, "plan", '`{"include": [{"device", "variants", …}]}`').flatMap((e) => pairsOf(e, "plan"));
  const failures: ReportedFailure[] = [];
  if (refused !== undefined) {
    for (const entry of entries(refused, "refused", '`[{"device", "variants", "reason"}]`')) {
      const reason = typeof entry.reason === "string" && entry.reason !== "" ? entry.reason : "refused by the plan";
      for (const pair of pairsOf(entry, "refused")) {
        plan.push(pair);
        failures.push({ ...pair, message: `not benchmarked: ${reason}` });
      }
    }
  }
  return { plan, failures };
}
