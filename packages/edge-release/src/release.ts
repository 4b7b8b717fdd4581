/**
 * What a release says: its identity (channel, model, version), and per device
 * class the variant's files with the facts a device needs to decide and to
 * check (source commit, manifest digest, the gate's verdict and figures, the
 * rollout plan, a health-check fixture).
 */
import { ConfigurationError } from "@slmops/diagnostics";

/** A built variant's identity, as optimize records it and bench reports it: the release signs exactly this. */
export type { VariantFile, VariantFiles } from "@slmops/variant-identity";
import type { VariantFile, VariantFiles } from "@slmops/variant-identity";

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** The gate's verdict on one device class, with the figures it was reached on. */
export interface ReleaseVerdict {
  readonly outcome: "pass" | "fail" | "inconclusive";
  /** Metric → value, as the gate reported them (`decode-latency-p90`: 38.2 …). */
  readonly figures: { readonly [metric: string]: JsonValue };
  /** Why the outcome is not the gate's own, for the refusal (not signed): the gate judged another build of the variant. */
  readonly note?: string;
}

/** One device class of a release: the variant it gets, where its files are, and its verdict. */
export interface ReleaseTarget {
  readonly deviceClass: string;
  readonly variant: string;
  /** The directory holding the variant's files, named as in `identity`. */
  readonly directory: string;
  readonly identity: VariantFiles;
  readonly verdict: ReleaseVerdict;
  /** A fixed input and its expected output with a tolerance, run by the device after install. */
  readonly healthCheck: JsonValue;
}

export interface Release {
  readonly channel: string;
  readonly model: string;
  /** Semantic version 2.0.0, without build metadata. */
  readonly version: string;
  readonly sourceCommit: string;
  /** sha256 of the manifest the release was built from, hex. */
  readonly manifestDigest: string;
  /** The manifest's `release.rollout` (stages and abort rule). */
  readonly rolloutPlan: JsonValue;
  readonly targets: readonly ReleaseTarget[];
}

/** Target paths of this prefix belong to the rollout role; no channel may take the name. */
export const ROLLOUT_PREFIX = "rollout";

const SEGMENT = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$/;
const HEX64 = /^[0-9a-f]{64}$/;
const COMMIT = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

export function checkSegment(what: string, value: string): string {
  if (!SEGMENT.test(value) || value.includes("..")) {
    throw new ConfigurationError(
      `${what} ${JSON.stringify(value)} cannot name a release path: use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit`,
    );
  }
  return value;
}

export function checkChannel(channel: string): string {
  checkSegment("channel", channel);
  if (channel === ROLLOUT_PREFIX) {
    throw new ConfigurationError(`channel "${ROLLOUT_PREFIX}" is reserved for the rollout state; choose another channel name`);
  }
  return channel;
}

export function checkVersion(version: string): string {
  if (!SEMVER.test(version)) {
    throw new ConfigurationError(`release version ${JSON.stringify(version)} is not a semantic version (MAJOR.MINOR.PATCH[-PRERELEASE], no build metadata)`);
  }
  return version;
}

function checkFileName(name: string): string {
  const parts = name.split("/");
  if (name.length === 0 || name.length > 1024 || name.includes("\\") || name.includes("\0") || parts.some((part) => part === "" || part === "." || part === "..")) {
    throw new ConfigurationError(`variant file name ${JSON.stringify(name)} is not a relative path inside the variant`);
  }
  return name;
}

/** Checks everything about a release that does not need the disk. */
export function checkRelease(release: Release): void {
  checkChannel(release.channel);
  checkSegment("model id", release.model);
  checkVersion(release.version);
  if (!COMMIT.test(release.sourceCommit)) {
    throw new ConfigurationError(`source commit ${JSON.stringify(release.sourceCommit)} is not a full lowercase git commit id`);
  }
  if (!HEX64.test(release.manifestDigest)) {
    throw new ConfigurationError("the manifest digest must be a lowercase hex sha256");
  }
  if (release.targets.length === 0) {
    throw new ConfigurationError("a release needs at least one device class in release.targets");
  }
  const classes = new Set<string>();
  for (const target of release.targets) {
    checkSegment("device class", target.deviceClass);
    checkSegment("variant", target.variant);
    if (classes.has(target.deviceClass)) {
      throw new ConfigurationError(`device class ${target.deviceClass} appears twice in the release`);
    }
    classes.add(target.deviceClass);
    if (target.identity.files.length === 0) {
      throw new ConfigurationError(`variant ${target.variant} for ${target.deviceClass} has no files`);
    }
    const names = new Set<string>();
    for (const file of target.identity.files) {
      checkFileName(file.name);
      if (names.has(file.name)) throw new ConfigurationError(`variant ${target.variant} lists file ${file.name} twice`);
      names.add(file.name);
      if (!HEX64.test(file.sha256) || !Number.isSafeInteger(file.bytes) || file.bytes < 0) {
        throw new ConfigurationError(`variant ${target.variant} file ${file.name} has no valid sha256 and length`);
      }
    }
  }
}

/** The device classes whose verdict is not a pass. */
export function notPassed(release: Release): string[] {
  return release.targets.filter((target) => target.verdict.outcome !== "pass").map((target) => target.deviceClass);
}

/** `<channel>/<model>/<version>/`: every model target of one release starts with it. */
export function releasePrefix(channel: string, model: string, version: string): string {
  return `${channel}/${model}/${version}/`;
}

export function modelTargetPath(release: Release, target: ReleaseTarget, file: VariantFile): string {
  return `${releasePrefix(release.channel, release.model, release.version)}${target.deviceClass}/${file.name}`;
}

/**
 * JSON that canonical JSON (which TUF signs) can encode: canonical JSON has
 * no floating-point numbers, so every non-integer number is carried as its
 * shortest round-trip decimal string (`String(x)`, which `Number()` reads
 * back exactly). Integers, strings, booleans and null are unchanged.
 */
export function signableJson(value: JsonValue, where: string): JsonValue {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new ConfigurationError(`${where} holds ${String(value)}, which has no JSON form`);
    return Number.isInteger(value) ? value : String(value);
  }
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item: JsonValue, index) => signableJson(item, `${where}[${index}]`));
  const out: Record<string, JsonValue> = {};
  for (const [key, item] of Object.entries(value as Record<string, JsonValue>)) {
    Object.defineProperty(out, key, { value: signableJson(item, `${where}.${key}`), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The signed custom metadata of one model file. */
export function targetCustom(release: Release, target: ReleaseTarget, file: VariantFile, forced: readonly string[]): Record<string, JsonValue> {
  const custom: Record<string, JsonValue> = {
    model: release.model,
    version: release.version,
    channel: release.channel,
    variant: target.variant,
    deviceClass: target.deviceClass,
    file: file.name,
    variantDigest: target.identity.digest,
    variantFiles: target.identity.files.map((f) => ({ name: f.name, bytes: f.bytes, sha256: f.sha256 })),
    sourceCommit: release.sourceCommit,
    manifestDigest: release.manifestDigest,
    verdict: signableJson({ outcome: target.verdict.outcome, figures: target.verdict.figures }, "verdict"),
    rolloutPlan: signableJson(release.rolloutPlan, "rollout plan"),
    healthCheck: signableJson(target.healthCheck, "health check"),
  };
  if (forced.length > 0) custom["forced"] = { deviceClasses: [...forced] };
  return custom;
}
