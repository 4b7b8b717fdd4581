/**
 * The verdict as plain text for a terminal: a headline, then each pair with
 * its checks. Ids and messages come from reports and the manifest, so each is
 * shown through `terminalText` before any colour is added.
 */
import { terminalText } from "@slmops/diagnostics";
import type { CheckOutcome } from "./regression.js";
import { applicabilityLines, checksText, requirementsText } from "./applicability.js";
import { NO_BASELINE_YET, type CheckResult, type DeviceGates, type UnplannedPair, type UnplannedReason, type Verdict } from "./verdict.js";

/** Colors (or none) for the text. */
export interface TextStyle {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  green(text: string): string;
}

const PLAIN: TextStyle = { bold: (t) => t, dim: (t) => t, red: (t) => t, yellow: (t) => t, green: (t) => t };

function mark(outcome: CheckOutcome, style: TextStyle): string {
  return outcome === "pass" ? style.green("✓") : outcome === "fail" ? style.red("✗") : style.yellow("?");
}

function checkLine(check: CheckResult, style: TextStyle): string[] {
  const at = check.location ? style.dim(` (${terminalText(check.location.file)}:${check.location.line}:${check.location.column})`) : "";
  const lines = [`    ${mark(check.outcome, style)} ${terminalText(check.message)}${at}`];
  if (check.advice && check.outcome !== "pass") lines.push(style.dim(`      ${terminalText(check.advice)}`));
  return lines;
}

const UNPLANNED: Readonly<Record<UnplannedReason, string>> = {
  "not-planned": "not in the plan, not gated",
  "unknown-device": "device not in the manifest, its report was not gated",
  "unknown-variant": "variant not in the manifest, its result was not gated",
};

/** A result outside the manifest is a mistake worth seeing; one merely outside this run's plan is not. */
function unplannedLine(u: UnplannedPair, style: TextStyle): string {
  const text = `${terminalText(u.device)} · ${terminalText(u.variant)}: ${UNPLANNED[u.reason]}`;
  return u.reason === "not-planned" ? style.dim(`  · ${text}`) : style.yellow(`  ! ${text}`);
}

const HEADLINE: Readonly<Record<CheckOutcome, string>> = { pass: "gate passed", fail: "gate failed", inconclusive: "gate inconclusive" };

/** `3 of 7 requirements applied to local`, per device. */
function appliedText(device: DeviceGates): string {
  return `${requirementsText(device)} to ${terminalText(device.device)}`;
}

/** Which gates applied to a device, on which variants, and why the others did not. */
function deviceLines(device: DeviceGates, style: TextStyle): string[] {
  const lines = [`  ${style.bold(terminalText(device.device))}: ${requirementsText(device)}; ${checksText(device.counts)}`];
  for (const line of applicabilityLines(device)) {
    lines.push(line.applied ? `    ${terminalText(line.text)}` : style.dim(`    ${terminalText(line.text)}`));
  }
  return lines;
}

/** Every device, pair and check, one per line, ending with a newline. */
export function formatVerdictText(verdict: Verdict, style: TextStyle = PLAIN): string {
  const baseline = terminalText(verdict.baseline.status === "found" ? `baseline: ${verdict.baseline.source}` : verdict.baseline.noneYet ? `${NO_BASELINE_YET} — ${verdict.baseline.reason}` : `no baseline: ${verdict.baseline.reason}`);
  const applied = verdict.devices.map((d, i) => (i === 0 ? appliedText(d) : `${d.requirements.applied} of ${d.requirements.total} to ${terminalText(d.device)}`)).join(", ");
  const nothing = verdict.checks.length === 0;
  const headline = `${HEADLINE[verdict.outcome]}${nothing ? ", but nothing was checked" : ""}`;
  const lines = [`${mark(verdict.outcome, style)} ${style.bold(headline)}: ${applied || "no device planned"}${nothing ? "" : `; ${checksText(verdict.counts)}`} (${baseline})`];
  for (const device of verdict.devices) {
    lines.push(...deviceLines(device, style));
    for (const pair of verdict.pairs.filter((p) => p.device === device.device)) {
      const state = !pair.reported ? "did not report" : pair.checks.length === 0 ? "no gate" : pair.outcome;
      lines.push(`  ${mark(pair.outcome, style)} ${style.bold(`${terminalText(pair.device)} · ${terminalText(pair.variant)}`)} ${style.dim(state)}`);
      for (const check of pair.checks) lines.push(...checkLine(check, style));
    }
  }
  for (const u of verdict.unplanned) lines.push(unplannedLine(u, style));
  if (verdict.outcome === "inconclusive") lines.push(style.yellow("Inconclusive: rerun the benchmark to collect more samples, or provide a baseline."));
  return `${lines.join("\n")}\n`;
}
