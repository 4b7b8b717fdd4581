/** What a verdict becomes on GitHub: a check-run conclusion and annotations on the gates' lines. */
import type { CheckOutcome, Verdict } from "@slmops/gate";
import type { CheckAnnotation, CheckConclusion } from "./check-run.js";

/** pass → success, fail → failure, inconclusive → neutral (the reviewer decides, or reruns). */
export function checkConclusion(outcome: CheckOutcome): CheckConclusion {
  return outcome === "pass" ? "success" : outcome === "fail" ? "failure" : "neutral";
}

/**
 * One annotation per check that did not pass, on the line of its gate in
 * `slmops.yaml` (checks without a location, such as a device that did not
 * report, are in the summary only).
 */
export function verdictAnnotations(verdict: Verdict): CheckAnnotation[] {
  const annotations: CheckAnnotation[] = [];
  for (const check of verdict.checks) {
    if (check.outcome === "pass" || !check.location) continue;
    annotations.push({
      path: check.location.file,
      start_line: check.location.line,
      end_line: check.location.line,
      annotation_level: check.outcome === "fail" ? "failure" : "warning",
      title: `${check.gate}: ${check.device} · ${check.variant}`,
      message: check.advice ? `${check.message}\n${check.advice}` : check.message,
    });
  }
  return annotations;
}
