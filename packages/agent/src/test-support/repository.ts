/**
 * A real release repository for the agent's tests: the maker's decoders as
 * variants, their health-check fixtures made by running them in ONNX
 * Runtime, signed into a TUF repository by `@slmops/edge-release` and rolled
 * out by its rollout role — what `slmops release build` and `promote` write.
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

export interface TestRepository {
  readonly work: string;
  readonly dir: string;
  readonly root: string;
  readonly keys: Record<RoleName, SigningKey>;
  readonly signers: Signers;
  /** Publishes `version` made from `seed`; with `fixtureSeed`, its health-check fixture is another model's (it loads, and fails the check). */
  publish(version: string, options?: { seed?: number; fixtureSeed?: number; stages?: readonly number[]; expiry?: Expiry; now?: Date }): Promise<Release>;
  /** Signs the rollout state of `version`. */
  rollout(version: string, options?: { stage?: number; halted?: boolean; salt?: string; now?: Date; expiry?: Expiry }): Promise<void>;
}

async function decoder(dir: string, seed: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "model.onnx");
  writeFileSync(path, encodeModel(makeModel({ ...PRESETS.nano, seed })));
  return path;
}

export async function createTestRepository(): Promise<TestRepository> {
  const work = mkdtempSync(join(tmpdir(), "agent-repo-"));
  const dir = join(work, "repo");
  const keys = { root: generateSigningKey(), targets: generateSigningKey(), snapshot: generateSigningKey(), timestamp: generateSigningKey(), rollout: generateSigningKey() } as Record<RoleName, SigningKey>;
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
      const seed = options.seed ?? 1000 + Number(version.split(".").join(""));
      const variantDir = join(work, "variants", version);
      const model = await decoder(variantDir, seed);
      const fixtureModel = options.fixtureSeed === undefined ? model : await decoder(join(work, "fixtures", version), options.fixtureSeed);
      const identity = await describeVariant(variantDir, ["model.onnx"], { what: "model file" });
      const release: Release = {
        channel: CHANNEL,
        model: MODEL,
        version,
        sourceCommit: "0123456789abcdef0123456789abcdef01234567",
        manifestDigest: "ab".repeat(32),
        rolloutPlan: { stages: (options.stages ?? [10, 100]).map((percent) => ({ percent, soakMs: 0 })) },
        targets: [{ deviceClass: DEVICE_CLASS, variant: "fp32", directory: variantDir, identity, verdict: { outcome: "pass", figures: {} }, healthCheck: (await makeHealthCheck(fixtureModel, { kind: "decoder" })) as never }],
      };
      await publishRelease(dir, release, { signers, ...(options.expiry ? { expiry: options.expiry } : {}), ...(options.now ? { now: options.now } : {}) });
      return release;
    },
    async rollout(version, options = {}) {
      const salt = options.salt ?? salts.get(version) ?? newCohortSalt();
      salts.set(version, salt);
      await setRolloutState(dir, { channel: CHANNEL, model: MODEL, version, stage: options.stage ?? 0, salt, halted: options.halted ?? false }, { signers, ...(options.now ? { now: options.now } : {}), ...(options.expiry ? { expiry: options.expiry } : {}) });
    },
  };
}
