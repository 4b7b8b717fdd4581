/**
 * Device fingerprints: what a measurement depends on besides the model (CPU,
 * cores, memory, OS, architecture, runtime and execution-provider versions).
 * A regression check compares only results whose fingerprints agree, unless
 * the gate allows a mismatch.
 */

/** A fingerprint as a flat or nested record of plain values. */
export type Fingerprint = { readonly [key: string]: FingerprintValue };
export type FingerprintValue = string | number | boolean | null | readonly FingerprintValue[] | Fingerprint;

export interface FingerprintDifference {
  /** Dotted path of the field, e.g. `runtime.onnxruntime`. */
  readonly key: string;
  readonly baseline: string;
  readonly candidate: string;
}

/** Fields that name a machine rather than describe it; they may differ between runs. */
export const DEFAULT_IGNORED_FINGERPRINT_KEYS: readonly string[] = Object.freeze(["hostname", "runner-name", "runnerName"]);

function flatten(value: FingerprintValue | undefined, prefix: string, out: Map<string, string>, depth: number): void {
  if (depth > 8) throw new RangeError(`fingerprint is nested too deeply at ${prefix}`);
  if (value === undefined) return;
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const key of Object.keys(value).sort()) flatten((value as Fingerprint)[key], prefix ? `${prefix}.${key}` : key, out, depth + 1);
    return;
  }
  if (Array.isArray(value)) {
    // Order of labels or providers lists does not describe the machine.
    out.set(prefix, JSON.stringify([...value].map((v) => JSON.stringify(v)).sort()));
    return;
  }
  out.set(prefix, JSON.stringify(value));
}

/** Every field whose value differs between the two fingerprints, sorted by key. */
export function compareFingerprints(
  baseline: Fingerprint,
  candidate: Fingerprint,
  ignore: readonly string[] = DEFAULT_IGNORED_FINGERPRINT_KEYS,
): FingerprintDifference[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(baseline, "", a, 0);
  flatten(candidate, "", b, 0);
  const ignored = new Set(ignore);
  const keys = [...new Set([...a.keys(), ...b.keys()])].filter((k) => !ignored.has(k) && !ignored.has(k.split(".").at(-1) ?? k)).sort();
  const differences: FingerprintDifference[] = [];
  for (const key of keys) {
    const x = a.get(key) ?? "(missing)";
    const y = b.get(key) ?? "(missing)";
    if (x !== y) differences.push({ key, baseline: x, candidate: y });
  }
  return differences;
}

/** `cpu: "A" on the baseline, "B" now; …` */
export function describeFingerprintDifferences(differences: readonly FingerprintDifference[]): string {
  return differences.map((d) => `${d.key}: ${d.baseline} on the baseline, ${d.candidate} now`).join("; ");
}
