/**
 * Which gates applied to a device, and why the others did not, as plain
 * sentences: one wording for the terminal, the Markdown and the HTML report,
 * each of which escapes the text for its own medium (ids and gate names come
 * from the manifest and reports).
 */
import type { CheckOutcome } from "./regression.js";
import type { DeviceGates, GateApplicability } from "./verdict.js";

const plural = (n: number, one: string, many: string = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** What the checks gave, claiming no more than was checked. */
export function checksText(counts: Readonly<Record<CheckOutcome, number>>): string {
  const total = counts.pass + counts.fail + counts.inconclusive;
  if (total === 0) return "nothing was checked";
  if (counts.pass === total) return total === 1 ? "its 1 check passed" : `all ${total} checks passed`;
  return `${counts.pass} passed, ${counts.fail} failed, ${counts.inconclusive} inconclusive`;
}

/** `3 of 7 requirements applied`: how much of the manifest's gating reached the device. */
export function requirementsText(device: DeviceGates): string {
  return `${device.requirements.applied} of ${plural(device.requirements.total, "requirement")} applied`;
}

/** `gates[0] "int8 accuracy" (kl-divergence, top-1-agreement)`. */
export function gateLabel(g: GateApplicability): string {
  const what = g.requirements.length > 0 ? ` (${g.requirements.join(", ")})` : "";
  return `${g.ref ? `${g.ref} ` : ""}"${g.gate}"${what}`;
}

/** One line per gate: where it applied and what was skipped, or why it did not apply. */
export interface ApplicabilityLine {
  readonly applied: boolean;
  readonly text: string;
}

export function applicabilityLines(device: DeviceGates): ApplicabilityLine[] {
  return device.gates.map((g) =>
    g.applied
      ? { applied: true, text: `applies: ${gateLabel(g)} on ${g.variants.join(", ")}${g.skipped ? `; skipped: ${g.skipped.join(", ")} (no baseline yet)` : ""}` }
      : { applied: false, text: `does not apply: ${gateLabel(g)}: ${g.reason ?? ""}` },
  );
}
