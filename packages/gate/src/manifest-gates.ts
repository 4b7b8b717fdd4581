/**
 * The manifest's gates and device plan as the verdict's inputs: limits and
 * regression requirements in base units, with the line of `slmops.yaml` each
 * is written on, for annotations.
 */
import { relative, sep } from "node:path";
import type { Gate, Manifest, ManifestSuccess, MetricName } from "@slmops/manifest";
import type { MetricLimit } from "./limits.js";
import type { GateDefinition, KnownPairs, PlannedPair, SourceLocation } from "./verdict.js";

/**
 * Every (device, `model/variant`) pair the manifest plans to benchmark, on all
 * its devices or those in `devices`. An id of `devices` the manifest lacks is
 * an ad-hoc device (the caller has checked it may be): every variant is
 * planned on it, after the manifest's devices.
 */
export function planFromManifest(manifest: Manifest, devices?: ReadonlySet<string>): PlannedPair[] {
  const ids = manifest.devices.map((d) => d.id).filter((id) => !devices || devices.has(id));
  for (const id of devices ?? []) if (!ids.includes(id)) ids.push(id);
  const pairs: PlannedPair[] = [];
  for (const device of ids) {
    for (const model of manifest.models) for (const variant of model.variants) pairs.push({ device, variant: `${model.id}/${variant.id}` });
  }
  return pairs;
}

/** Every device and `model/variant` the manifest defines: a report naming anything else is not the manifest's. */
export function knownFromManifest(manifest: Manifest): KnownPairs {
  return { devices: manifest.devices.map((d) => d.id), variants: manifest.models.flatMap((m) => m.variants.map((v) => `${m.id}/${v.id}`)) };
}

/** The manifest's file as written in annotations: relative to the repository root, with `/`. */
function manifestFile(loaded: ManifestSuccess): string {
  const rel = relative(loaded.root, loaded.file);
  return rel === "" || rel.startsWith("..") ? loaded.file : rel.split(sep).join("/");
}

function locator(loaded: ManifestSuccess): (pointer: string) => SourceLocation | undefined {
  const file = manifestFile(loaded);
  return (pointer) => {
    const at = loaded.locate(pointer);
    return at ? { file, line: at.line, column: at.column } : undefined;
  };
}

function definition(gate: Gate, locate: (pointer: string) => SourceLocation | undefined): GateDefinition {
  const limits: Partial<Record<MetricName, MetricLimit>> = {};
  const limitLocations: Partial<Record<MetricName, SourceLocation>> = {};
  for (const limit of gate.limits) {
    limits[limit.metric] = { ...(limit.max !== undefined ? { max: limit.max } : {}), ...(limit.min !== undefined ? { min: limit.min } : {}) };
    const at = locate(limit.pointer);
    if (at) limitLocations[limit.metric] = at;
  }
  const location = locate(gate.pointer);
  const regressionLocation = gate.regression ? locate(gate.regression.pointer) : undefined;
  // A gate that names no devices applies to every device, the ad-hoc `local` one too.
  const devicesWritten = locate(`${gate.pointer}/devices`) !== undefined;
  return {
    name: gate.name,
    ref: gate.pointer.replace(/^\/gates\/(\d+)$/u, "gates[$1]"),
    ...(devicesWritten ? { devices: gate.devices } : {}),
    variants: gate.variants.map((v) => `${v.model}/${v.variant}`),
    limits,
    ...(gate.regression ? { regression: { metric: gate.regression.metric, maxChange: gate.regression.maxWorsening, confidence: gate.regression.confidence, ...(gate.regression.requireBaseline ? { requireBaseline: true } : {}) } } : {}),
    allowFingerprintMismatch: gate.allowFingerprintMismatch,
    ...(location ? { location } : {}),
    limitLocations,
    ...(regressionLocation ? { regressionLocation } : {}),
  };
}

/** The manifest's gates with their source locations. */
export function gatesFromManifest(loaded: ManifestSuccess): GateDefinition[] {
  const locate = locator(loaded);
  return loaded.manifest.gates.map((gate) => definition(gate, locate));
}
