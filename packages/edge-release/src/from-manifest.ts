/**
 * From a manifest to a published release: the manifest's `release` section
 * (channel, device class → variant, rollout plan), the built variants and the
 * gate's verdict become one {@link Release} per model; the gate is enforced;
 * the keys come from the environment; the repository is created on the first
 * publish. The command line (`slmops release build`) and the
 * publish-edge-release action both call this, so a release means the same
 * thing wherever it is built.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { modelFiles } from "@slmops/bench/model-files";
import { readRegularFile } from "@slmops/contained-fs";
import { ConfigurationError, terminalText } from "@slmops/diagnostics";
import { makeHealthCheck } from "@slmops/health-check";
import type { Manifest } from "@slmops/manifest";
import { describeVariant, variantModelPath } from "@slmops/variant-identity";
import { RELEASE_ROLES, roleKeyVariable } from "./key-variables.js";
import { signingKeyFromEnvironment, type SigningKey } from "./keys.js";
import type { Expiry, RoleName, Signers } from "./policy.js";
import { checkRelease, type JsonValue, type Release, type ReleaseTarget, type ReleaseVerdict } from "./release.js";
import { initRepository, metadataDirectory, publishRelease, type PublishResult } from "./repository.js";

/** One (device, variant) pair of a gate verdict, as `slmops gate --json` and the gate action's verdict file write it. */
export interface GateVerdictPair {
  readonly device?: unknown;
  readonly variant?: unknown;
  readonly outcome?: unknown;
  readonly metrics?: unknown;
  /** The identity digest of the variant the device measured. */
  readonly modelSha256?: unknown;
}

/**
 * Reads a gate verdict file: the output of `slmops gate --json` or the gate
 * action's `slmops-verdict.json` (both hold `verdict.pairs`). `given` names
 * the file in errors, as the user wrote it.
 */
export async function readGateVerdict(file: string, given: string): Promise<GateVerdictPair[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse((await readRegularFile(file, { maxBytes: 64 * 1024 * 1024, what: "gate verdict" })).toString("utf8"));
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    throw new ConfigurationError(`the gate verdict ${given} is not JSON; pass the output of \`slmops gate --json\` or the gate action's verdict file`);
  }
  const pairs = (parsed as { verdict?: { pairs?: unknown } } | null)?.verdict?.pairs;
  if (!Array.isArray(pairs)) {
    throw new ConfigurationError(`${given} is not a gate verdict (no verdict.pairs); pass the output of \`slmops gate --json\` or the gate action's verdict file`);
  }
  return pairs as GateVerdictPair[];
}

/**
 * The verdict of one device class's variant; a pair the verdict lacks is
 * inconclusive. With `digest` (the identity of the variant about to be
 * released), a verdict reached on another build of the variant — the
 * variant rebuilt after it was benchmarked — is inconclusive too: it says
 * nothing about these bytes. (A verdict that names no digest, from a gate
 * before it recorded one, is taken as it is.)
 */
export function verdictFor(pairs: readonly GateVerdictPair[] | undefined, device: string, model: string, variant: string, digest?: string): ReleaseVerdict {
  const pair = pairs?.find((p) => p.device === device && (p.variant === `${model}/${variant}` || p.variant === variant));
  if (!pair) return { outcome: "inconclusive", figures: {} };
  if (digest !== undefined && typeof pair.modelSha256 === "string" && pair.modelSha256 !== digest) {
    return {
      outcome: "inconclusive",
      figures: {},
      note: `the gate judged another build of ${model}/${variant} (sha256 ${terminalText(pair.modelSha256.slice(0, 12))}…), not the one here (${digest.slice(0, 12)}…); benchmark and gate this build`,
    };
  }
  const outcome = pair.outcome === "pass" || pair.outcome === "fail" ? pair.outcome : "inconclusive";
  const figures: Record<string, JsonValue> = {};
  if (pair.metrics && typeof pair.metrics === "object") {
    for (const [metric, value] of Object.entries(pair.metrics as Record<string, unknown>)) {
      if (typeof value === "number" && Number.isFinite(value)) Object.defineProperty(figures, metric, { value, enumerable: true });
    }
  }
  return { outcome, figures };
}

/** The manifest's `release.rollout`, as the signed metadata records it. */
export function rolloutPlanOf(manifest: Manifest): JsonValue {
  const rollout = manifest.release?.rollout;
  return {
    stages: (rollout?.stages ?? []).map((stage) => ({ percent: stage.percent, soakMs: stage.soakMs })),
    ...(rollout?.abort ? { abort: { failureRate: rollout.abort.failureRate, minDevices: rollout.abort.minDevices } } : {}),
  };
}

/** The version a release gets when none is given: a pre-release of 0.0.0 named by the commit. */
export function defaultReleaseVersion(sourceCommit: string): string {
  return `0.0.0-g${sourceCommit.slice(0, 12)}`;
}

export interface ManifestReleaseInput {
  /** The validated manifest. */
  readonly manifest: Manifest;
  /** The manifest file, for its digest. */
  readonly manifestFile: string;
  /** How errors name the manifest (e.g. its path relative to the repository). */
  readonly manifestDisplay: string;
  /** The built variants directory (`<variants>/<model>/<variant>/model.onnx`). */
  readonly variantsDir: string;
  /** The gate verdict's pairs; undefined when no verdict was given (every target is then inconclusive). */
  readonly verdict: readonly GateVerdictPair[] | undefined;
  /** The commit the manifest and variants were built from (40 or 64 hex digits). */
  readonly sourceCommit: string;
  /** Default {@link defaultReleaseVersion}. */
  readonly version?: string;
  /** Default the manifest's `release.channel`. */
  readonly channel?: string;
  /** Only these device classes of `release.targets` (default: every one); one that is not a target is refused. */
  readonly devices?: readonly string[];
}

/**
 * One release per model of the manifest's `release.targets`, each checked
 * ({@link checkRelease}) — nothing is signed or written here. Each target
 * carries its variant's health-check fixture ({@link makeHealthCheck}): the
 * variant run in ONNX Runtime on a fixed input, made once per variant.
 */
export async function releasesFromManifest(input: ManifestReleaseInput): Promise<Release[]> {
  const release = input.manifest.release;
  if (!release) throw new ConfigurationError(`${input.manifestDisplay} has no \`release:\` section; add one (channel, targets, rollout) to release its variants`);
  const version = input.version ?? defaultReleaseVersion(input.sourceCommit);
  const channel = input.channel ?? release.channel;
  const manifestDigest = createHash("sha256").update(await readFile(input.manifestFile)).digest("hex");
  const byModel = new Map<string, ReleaseTarget[]>();
  const fixtures = new Map<string, Promise<JsonValue>>();
  const known = [...new Set(release.targets.map((t) => t.device))];
  const unknown = (input.devices ?? []).filter((d) => !known.includes(d)).map((d) => terminalText(d));
  if (unknown.length > 0) {
    throw new ConfigurationError(`${input.manifestDisplay}'s release.targets has no device class ${unknown.map((d) => `\`${d}\``).join(", ")}; it releases to ${known.map((d) => `\`${d}\``).join(", ")}. Add the device to release.targets, or pick one of those.`);
  }
  for (const target of release.targets.filter((t) => input.devices === undefined || input.devices.includes(t.device))) {
    const modelPath = variantModelPath(input.variantsDir, target.model, target.variant);
    const files = await modelFiles(modelPath).catch((error: unknown) => {
      throw new ConfigurationError(
        `variant ${target.model}/${target.variant} (for ${target.device}) is not built: there is no ${modelPath}. Run \`slmops optimize --variant ${target.variant}\` first, or give the variants directory it was built into`,
        { cause: error },
      );
    });
    const directory = dirname(modelPath);
    const key = `${target.model}/${target.variant}`;
    let fixture = fixtures.get(key);
    if (fixture === undefined) {
      const kind = input.manifest.models.find((m) => m.id === target.model)?.kind;
      fixture = makeHealthCheck(modelPath, kind === undefined ? {} : { kind }).catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        throw new ConfigurationError(`the health check of variant ${key} (for ${target.device}) cannot be made: ${reason}`, { cause: error });
      });
      fixtures.set(key, fixture);
    }
    // ONNX Runtime makes the fixture on its own threads while the variant is hashed here.
    const [identity, healthCheck] = await Promise.all([describeVariant(directory, files.files.map((f) => f.name), { what: "model file" }), fixture]);
    const list = byModel.get(target.model) ?? [];
    list.push({ deviceClass: target.device, variant: target.variant, directory, identity, verdict: verdictFor(input.verdict, target.device, target.model, target.variant, identity.digest), healthCheck });
    byModel.set(target.model, list);
  }
  const releases = [...byModel].map(([model, targets]) => ({ channel, model, version, sourceCommit: input.sourceCommit, manifestDigest, rolloutPlan: rolloutPlanOf(input.manifest), targets }));
  for (const r of releases) checkRelease(r);
  return releases;
}

/** The device classes whose verdict is not a pass, as `rpi5 (fail)`. */
export function gateFailures(releases: readonly Release[]): string[] {
  return releases.flatMap((r) => r.targets.filter((t) => t.verdict.outcome !== "pass").map((t) => `${t.deviceClass} (${t.verdict.outcome}${t.verdict.note ? `: ${t.verdict.note}` : ""})`));
}

/** How a caller names its verdict and force settings in the refusal (`--verdict`, or an action's `verdict` input). */
export interface GateWording {
  readonly verdict: string;
  readonly force: string;
}

/** Refuses, with one {@link ConfigurationError}, releases whose gate did not pass, unless forced. */
export function refuseUnlessPassed(releases: readonly Release[], options: { readonly force: boolean; readonly verdictGiven: boolean; readonly wording: GateWording }): void {
  const failed = gateFailures(releases);
  if (failed.length === 0 || options.force) return;
  const { verdict, force } = options.wording;
  throw new ConfigurationError(
    `the gate did not pass on ${failed.join(", ")}${options.verdictGiven ? "" : ` — no ${verdict} was given`}; the release is refused. Pass the gate's verdict with ${verdict}, or ${force} to publish anyway (recorded in the signed metadata)`,
  );
}

/** Whether `dir` holds a release repository already (its first root metadata). */
export async function hasRepository(dir: string): Promise<boolean> {
  return readFile(join(metadataDirectory(dir), "1.root.json")).then(() => true, () => false);
}

/** The roles whose keys a publish needs: every role to create the repository, then targets, snapshot and timestamp. */
export function publishKeyRoles(created: boolean): readonly RoleName[] {
  return created ? RELEASE_ROLES : ["targets", "snapshot", "timestamp"];
}

/** Each role's key from its environment variable ({@link roleKeyVariable}). */
export function signersFromEnvironment(env: NodeJS.ProcessEnv, roles: readonly RoleName[]): Record<RoleName, SigningKey[]> {
  const signers = {} as Record<RoleName, SigningKey[]>;
  for (const role of roles) signers[role] = [signingKeyFromEnvironment(roleKeyVariable(role), env)];
  return signers;
}

export interface PublishedReleases {
  /** True when this call created the repository. */
  readonly created: boolean;
  readonly results: readonly { readonly release: Release; readonly result: PublishResult }[];
}

/**
 * Publishes the releases into the repository at `dir`, creating it first
 * when it does not exist (that needs every role's key). Keys are read from
 * `env` only after the releases are checked and the gate enforced by the caller.
 */
export async function publishReleases(
  dir: string,
  releases: readonly Release[],
  options: { readonly env: NodeJS.ProcessEnv; readonly force: boolean; /** The manifest's `release.expiry`, per role in milliseconds. */ readonly expiry?: Expiry },
): Promise<PublishedReleases> {
  const created = !(await hasRepository(dir));
  const signers: Signers = signersFromEnvironment(options.env, publishKeyRoles(created));
  if (created) {
    const roles = Object.fromEntries(RELEASE_ROLES.map((role) => [role, { keys: signers[role] ?? [] }])) as Record<RoleName, { keys: SigningKey[] }>;
    await initRepository(dir, { roles, signers, ...(options.expiry ? { expiry: options.expiry } : {}) });
  }
  const results = [];
  for (const release of releases) results.push({ release, result: await publishRelease(dir, release, { signers, force: options.force, ...(options.expiry ? { expiry: options.expiry } : {}) }) });
  return { created, results };
}
