import { warning, type Problem } from "./problem.js";
import type { Manifest } from "./types.js";

/**
 * Warnings about a valid manifest: a release target that no gate checks on
 * its device would ship whatever a change does to it there.
 */
export function coverageWarnings(manifest: Manifest): Problem[] {
  const problems: Problem[] = [];
  if (!manifest.release) return problems;
  for (const target of manifest.release.targets) {
    const covered = manifest.gates.some(
      (gate) => gate.devices.includes(target.device) && gate.variants.some((v) => v.model === target.model && v.variant === target.variant),
    );
    if (!covered) {
      problems.push(
        warning(
          "release/ungated-target",
          target.pointer,
          `no gate checks \`${target.model}/${target.variant}\` on \`${target.device}\`, yet the release ships it there`,
          `add a gate with \`devices: [${target.device}]\` and \`variants: [${target.model}/${target.variant}]\`, so a change that breaks it cannot merge`,
        ),
      );
    }
  }
  return problems;
}
