/**
 * Gate locations as the pull request sees them: `slmops.yaml` paths relative
 * to the repository checkout (the workspace), whatever root the manifest was
 * loaded with, so check-run annotations land on the file in the diff.
 */
import { isAbsolute, join, relative, sep } from "node:path";
import type { GateDefinition, SourceLocation } from "@slmops/gate";

function rebase(location: SourceLocation, root: string, workspace: string): SourceLocation {
  const absolute = isAbsolute(location.file) ? location.file : join(root, location.file);
  const rel = relative(workspace, absolute);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) return location;
  return { ...location, file: rel.split(sep).join("/") };
}

/** The gates with every location relative to the workspace. */
export function gatesRelativeToWorkspace(gates: readonly GateDefinition[], root: string, workspace: string): GateDefinition[] {
  return gates.map((gate) => {
    const limitLocations: Partial<Record<string, SourceLocation>> = {};
    for (const [metric, at] of Object.entries(gate.limitLocations ?? {})) if (at) limitLocations[metric] = rebase(at, root, workspace);
    return {
      ...gate,
      ...(gate.location ? { location: rebase(gate.location, root, workspace) } : {}),
      ...(gate.regressionLocation ? { regressionLocation: rebase(gate.regressionLocation, root, workspace) } : {}),
      limitLocations: limitLocations as GateDefinition["limitLocations"],
    };
  });
}
