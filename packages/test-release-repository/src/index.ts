/**
 * @slmops/test-release-repository — for tests: a real release repository.
 * The maker's decoders are the variants, their health-check fixtures are
 * made by running them in ONNX Runtime, and they are signed into a TUF
 * repository by `@slmops/edge-release` and rolled out by its rollout role —
 * what `slmops release build` and `promote` write. A release may target
 * several device classes, each with its own model; a target whose fixture is
 * another model's loads and fails its health check on the device.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  generateSigningKey,
  initRepository,
  metadataDirectory,
  publishRelease,
  setRolloutState,
  type Expiry,
  type Release,
  type RoleName,
  type Signers,
  type SigningKey,
} from "@slmops/edge-release";
import { makeHealthCheck } from "@slmops/health-check";
import { PRESETS, makeModel } from "@slmops/model-maker";
import { encodeModel } from "@slmops/onnx";
import { newCohortSalt } from "@slmops/rollout-cohort";
import { describeVariant } from "@slmops/variant-identity";

export const CHANNEL = "stable";
export const MODEL = "story-lm";
export const DEVICE_CLASS = "rpi5";

/** One device class of a release: its model's seed; with `fixtureSeed`, its health-check fixture is another model's. */
export interface TestTarget {
  readonly deviceClass: string;
  readonly seed?: number;
  readonly fixtureSeed?: number;
  /** The bench figures the gate passed this variant on (its verdict's figures; default none). */
  readonly benchFigures?: Readonly<Record<string, number>>;
}

export interface PublishOptions {
  /** The model of the single target (default: derived from the version). */
  readonly seed?: number;
  /** The single target's fixture comes from this model's run instead (it loads, and fails the check). */
  readonly fixtureSeed?: number;
  /** Device classes and their models, instead of the single {@link DEVICE_CLASS} target. */
  readonly targets?: readonly TestTarget[];
  /** Stage percentages (default 10, 100), each without soak. */
  readonly stages?: readonly number[];
  /** The plan's abort rule: failure rate as a fraction, and the devices that must have reported. */
  readonly abort?: { readonly failureRate: number; readonly minDevices: number };
  readonly expiry?: Expiry;
  readonly now?: Date;
}

export interface TestRepository {
  readonly work: string;
  readonly dir: string;
  readonly root: string;
  readonly keys: Record<RoleName, SigningKey>;
  readonly signers: Signers;
  /** Publishes `version`: one variant per device class, each a decoder of its own seed. */
  publish(version: string, options?: PublishOptions): Promise<Release>;
  /** Signs the rollout state of `version`. */
  rollout(version: string, options?: { stage?: number; halted?: boolean; salt?: string; now?: Date; expiry?: Expiry }): Promise<void>;
  /** The cohort salt the rollout of `version` was signed with. */
  salt(version: string): string | undefined;
}

async function decoder(dir: string, seed: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "model.onnx");
  writeFileSync(path, encodeModel(makeModel({ ...PRESETS.nano, seed })));
  return path;
}

/** A new repository; with `keys`, signed with them (e.g. `slmops keys init`'s, for tests that run the CLI on it). */
export async function createTestRepository(options: { readonly keys?: Record<RoleName, SigningKey>; readonly work?: string } = {}): Promise<TestRepository> {
  const work = options.work ?? mkdtempSync(join(tmpdir(), "agent-repo-"));
  const dir = join(work, "repo");
  const keys = options.keys ?? ({ root: generateSigningKey(), targets: generateSigningKey(), snapshot: generateSigningKey(), timestamp: generateSigningKey(), rollout: generateSigningKey() } as Record<RoleName, SigningKey>);
  const signers: Signers = { root: [keys.root], targets: [keys.targets], snapshot: [keys.snapshot], timestamp: [keys.timestamp], rollout: [keys.rollout] };
  await initRepository(dir, { roles: { root: { keys: [keys.root] }, targets: { keys: [keys.targets] }, snapshot: { keys: [keys.snapshot] }, timestamp: { keys: [keys.timestamp] }, rollout: { keys: [keys.rollout] } }, signers });
  const salts = new Map<string, string>();
  return {
    work,
    dir,
    root: join(metadataDirectory(dir), "1.root.json"),
    keys,
    signers,
    async publish(version, options = {}) {
      const derived = 1000 + Number(version.split(/[.-]/).filter((part) => /^\d+$/.test(part)).join(""));
      const wanted: readonly TestTarget[] = options.targets ?? [{ deviceClass: DEVICE_CLASS, seed: options.seed ?? derived, ...(options.fixtureSeed === undefined ? {} : { fixtureSeed: options.fixtureSeed }) }];
      const targets: Release["targets"][number][] = [];
      for (const [index, target] of wanted.entries()) {
        const seed = target.seed ?? derived + 7919 * index;
        const variantDir = join(work, "variants", version, target.deviceClass);
        const model = await decoder(variantDir, seed);
        const fixtureModel = target.fixtureSeed === undefined ? model : await decoder(join(work, "fixtures", version, target.deviceClass), target.fixtureSeed);
        const identity = await describeVariant(variantDir, ["model.onnx"], { what: "model file" });
        targets.push({ deviceClass: target.deviceClass, variant: "fp32", directory: variantDir, identity, verdict: { outcome: "pass", figures: { ...target.benchFigures } }, healthCheck: (await makeHealthCheck(fixtureModel, { kind: "decoder" })) as never });
      }
      const release: Release = {
        channel: CHANNEL,
        model: MODEL,
        version,
        sourceCommit: "0123456789abcdef0123456789abcdef01234567",
        manifestDigest: "ab".repeat(32),
        rolloutPlan: {
          stages: (options.stages ?? [10, 100]).map((percent) => ({ percent, soakMs: 0 })),
          ...(options.abort ? { abort: { failureRate: String(options.abort.failureRate), minDevices: options.abort.minDevices } } : {}),
        },
        targets,
      };
      await publishRelease(dir, release, { signers, ...(options.expiry ? { expiry: options.expiry } : {}), ...(options.now ? { now: options.now } : {}) });
      return release;
    },
    async rollout(version, options = {}) {
      const salt = options.salt ?? salts.get(version) ?? newCohortSalt();
      salts.set(version, salt);
      await setRolloutState(dir, { channel: CHANNEL, model: MODEL, version, stage: options.stage ?? 0, salt, halted: options.halted ?? false }, { signers, ...(options.now ? { now: options.now } : {}), ...(options.expiry ? { expiry: options.expiry } : {}) });
    },
    salt: (version) => salts.get(version),
  };
}
