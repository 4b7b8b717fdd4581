/**
 * One check of the agent, and the recovery that precedes it: a state
 * machine in the manner of Mender's. Each step that changes the device is
 * entered in the journal before it starts, so a run killed at any instant is
 * reconciled by the next: an update interrupted before its switch is undone
 * (the device stays on its version; the downloads are kept to resume), one
 * interrupted at the switch is finished. A release whose health check fails
 * is never switched to, and is not tried again here until a newer one is
 * rolled out.
 *
 *   checking → (idle) | downloading → verifying → installing → health-checking → active
 *                                                                            ↘ rolled-back
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { ConfigurationError, EnvironmentError } from "@slmops/diagnostics";
import { inCohort } from "@slmops/rollout-cohort";
import { variantDigest, type VariantFiles } from "@slmops/variant-identity";
import type { TargetFile } from "@tufjs/models";
import type { AgentConfig } from "./config.js";
import { DownloadError, InsufficientSpaceError } from "./download-errors.js";
import { agentEvent, type AgentEvent, type EventSink, type IdleOutcome } from "./events.js";
import { installVersion, pruneVersions, readActive, readReleaseRecord, switchActive, type ReleaseRecord } from "./install.js";
import { readJournal, writeJournal, type InstalledVersion, type Journal, type UpdateStep } from "./journal.js";
import { agentLayout, versionDirName, type AgentLayout } from "./layout.js";
import { acquireLock } from "./lock.js";
import { httpStatusOf, isRetryableStatus, isTufError, repositoryUnreachable } from "./repository-errors.js";
import { openTrustedMetadata } from "./trusted-metadata.js";
import { hashPrefixedName } from "./target-name.js";

/** Health checks of one release the agent may die in before the release counts as failed here. */
export const MAX_INTERRUPTED_HEALTH_CHECKS = 2;

/** A signed rollout state, as the release's rollout role publishes it. */
export interface RolloutState {
  readonly version: string;
  readonly stage: number;
  readonly salt: string;
  readonly halted: boolean;
}

/** Downloads one verified file (`@slmops/agent`'s resumable download, or another in tests). */
export type DownloadFunction = (
  url: string,
  destination: string,
  expected: { readonly length: number; readonly sha256: string },
  options: { readonly readTimeoutMs: number },
) => Promise<unknown>;

/** Runs a release's health-check fixture on an installed model. */
export type HealthCheckFunction = ((
  modelPath: string,
  fixture: unknown,
  options: { readonly budgetMs?: number },
) => Promise<{ readonly ok: boolean; readonly problems: readonly string[]; readonly latencyMs?: number; readonly loadMs?: number }>) & {
  /** Told when an update begins (its download), so that a check with a slow start can get ready meanwhile. */
  readonly prepare?: () => void;
  /** Told when the update ends, checked or not: what `prepare` started and the check did not use goes. */
  readonly discard?: () => void;
};

export interface AgentDependencies {
  readonly download: DownloadFunction;
  readonly healthCheck: HealthCheckFunction;
  readonly emit: EventSink;
  readonly now?: () => Date;
}

export type CheckOutcome =
  | { readonly kind: "idle"; readonly outcome: IdleOutcome; readonly version?: string }
  | { readonly kind: "updated"; readonly version: string; readonly from?: string }
  | { readonly kind: "rolled-back"; readonly version: string; readonly reason: string }
  | { readonly kind: "failed"; readonly reason: string; readonly retryable: boolean; /** Set when the failure is not one the agent expects (a bug): its cause chain, for the log. */ readonly internal?: unknown };

/** A failure of one check: the device is where it was; `retryable` says whether trying again may help. */
export class CheckFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CheckFailure";
  }
}

function rolloutOf(info: TargetFile | undefined): RolloutState | undefined {
  const r = (info?.custom as { rollout?: Partial<RolloutState> } | undefined)?.rollout;
  if (!r) return undefined;
  if (typeof r.version !== "string" || !Number.isInteger(r.stage) || typeof r.salt !== "string" || typeof r.halted !== "boolean") {
    throw new CheckFailure("the signed rollout state is malformed", false);
  }
  return { version: r.version, stage: r.stage as number, salt: r.salt, halted: r.halted };
}

interface ReleaseCustom {
  readonly variant: string;
  readonly variantDigest: string;
  readonly variantFiles: VariantFiles["files"];
  readonly rolloutPlan: { readonly stages: readonly { readonly percent: number | string }[] };
  readonly healthCheck: unknown;
}

function releaseCustom(info: TargetFile): ReleaseCustom {
  const c = info.custom as Partial<ReleaseCustom> | undefined;
  if (!c || typeof c.variant !== "string" || typeof c.variantDigest !== "string" || !Array.isArray(c.variantFiles) || !Array.isArray(c.rolloutPlan?.stages)) {
    throw new CheckFailure(`the release's signed metadata for ${info.path} lacks what a device needs (variant, files, rollout plan)`, false);
  }
  return c as ReleaseCustom;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] ?? error.message : String(error);
}

/** Whether an error of a download or a metadata fetch may pass by itself (network, server, disk space). */
function retryableOf(error: unknown): boolean {
  if (error instanceof CheckFailure) return error.retryable;
  // Room may be made on the device (full before the download, or filled during it): try again later, with the backoff.
  if (error instanceof InsufficientSpaceError || (error instanceof DownloadError && error.kind === "disk-space")) return true;
  const flag = (error as { retryable?: unknown }).retryable;
  if (typeof flag === "boolean") return flag;
  if (error instanceof EnvironmentError) return true;
  // tuf-js: an HTTP error may pass when the server failed (5xx, 408, 429); a network failure may pass; a refusal of the metadata does not.
  const status = httpStatusOf(error);
  if (status !== undefined) return isRetryableStatus(status);
  const name = (error as { name?: string }).name ?? "";
  return /Timeout|ECONN|ENOTFOUND|EAI_AGAIN/i.test(name) || /ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket hang up|fetch failed|aborted due to timeout/i.test(reasonOf(error));
}

export class Agent {
  readonly layout: AgentLayout;
  readonly #config: AgentConfig;
  readonly #deps: AgentDependencies;

  constructor(config: AgentConfig, deps: AgentDependencies) {
    this.#config = config;
    this.#deps = deps;
    this.layout = agentLayout(config.installDir);
  }

  #now(): Date {
    return this.#deps.now?.() ?? new Date();
  }

  async #emit(fields: Omit<Partial<AgentEvent>, "time" | "device" | "deviceClass" | "model" | "channel"> & { event: AgentEvent["event"] }): Promise<void> {
    const c = this.#config;
    await this.#deps.emit(agentEvent({ time: this.#now().toISOString(), device: c.device.id, deviceClass: c.device.class, model: c.model, channel: c.channel, ...fields }));
  }

  /**
   * Reconciles the journal with the files after a run that did not finish:
   * an update stopped at its switch is finished; one stopped before is
   * undone (its partial downloads kept); the `active` link is the truth
   * about what runs.
   */
  async recover(): Promise<Journal> {
    await mkdir(this.layout.state, { recursive: true });
    let { journal } = await readJournal(this.layout.journal);
    const linked = await readActive(this.layout);
    const pending = journal.pending;
    if (pending) {
      if (pending.step === "switching") {
        // The health check passed before the switch began: finish it.
        if (linked !== pending.dir) await switchActive(this.layout, pending.dir);
        journal = { ...journal, previous: journal.active && journal.active.dir !== pending.dir ? journal.active : journal.previous, active: { version: pending.version, digest: pending.digest, dir: pending.dir }, pending: null };
      } else {
        if (pending.dir !== linked && pending.dir !== journal.previous?.dir) await rm(join(this.layout.versions, pending.dir), { recursive: true, force: true });
        journal = { ...journal, pending: null };
        const stayed = `the device stayed on ${journal.active?.version ?? "no model"}`;
        if (pending.step === "health-checking") {
          // A model that crashes the agent while it is checked would otherwise be retried after every restart.
          const times = (journal.interrupted?.[pending.version] ?? 0) + 1;
          if (times >= MAX_INTERRUPTED_HEALTH_CHECKS) {
            const reason = `health check failed: it did not finish ${times} times (the agent died during it); ${stayed}`;
            journal = { ...journal, interrupted: {}, failed: { ...journal.failed, [pending.version]: { digest: pending.digest, reason, at: this.#now().toISOString() } } };
            await this.#emit({ event: "rolled-back", version: pending.version, ...(journal.active ? { from: journal.active.version } : {}), reason });
          } else {
            journal = { ...journal, interrupted: { ...journal.interrupted, [pending.version]: times } };
            await this.#emit({ event: "failed", version: pending.version, reason: `interrupted while ${pending.step}; ${stayed}`, retryable: true });
          }
        } else {
          await this.#emit({ event: "failed", version: pending.version, reason: `interrupted while ${pending.step}; ${stayed}`, retryable: true });
        }
      }
    }
    const now = await readActive(this.layout);
    if ((journal.active?.dir ?? undefined) !== now) {
      const record = now ? await readReleaseRecord(join(this.layout.versions, now)) : undefined;
      journal = { ...journal, active: now && record ? { version: record.version, digest: record.digest, dir: now } : null };
    }
    await writeJournal(this.layout.journal, journal);
    await pruneVersions(this.layout, new Set([journal.active?.dir, journal.previous?.dir].filter((d): d is string => d !== undefined)));
    return journal;
  }

  /**
   * One check: recover, refresh the metadata, decide, and update when this
   * device is in the rollout's stage. One agent at a time per install
   * directory: another one running (`agent once` beside the service) is refused.
   */
  async checkOnce(): Promise<CheckOutcome> {
    await mkdir(this.layout.state, { recursive: true });
    const lock = await acquireLock(join(this.layout.state, "lock"));
    try {
      return await this.#checkLocked();
    } finally {
      await lock.release();
    }
  }

  async #checkLocked(): Promise<CheckOutcome> {
    let journal = await this.recover();
    await this.#emit({ event: "checking", ...(journal.active ? { version: journal.active.version } : {}) });
    const started = Date.now();
    try {
      const outcome = await this.#check(journal);
      journal = (await readJournal(this.layout.journal)).journal;
      await writeJournal(this.layout.journal, { ...journal, failures: 0, lastCheck: this.#now().toISOString() });
      return outcome;
    } catch (error) {
      const retryable = retryableOf(error);
      const reason = repositoryUnreachable(error, this.#config.repository) ?? reasonOf(error);
      journal = (await readJournal(this.layout.journal)).journal;
      const failures = journal.failures + 1;
      await writeJournal(this.layout.journal, { ...journal, pending: null, failures, lastCheck: this.#now().toISOString() });
      await this.#emit({ event: "failed", reason, retryable, durationMs: Date.now() - started });
      const expected = error instanceof CheckFailure || error instanceof ConfigurationError || retryable || isTufRefusal(error);
      return { kind: "failed", reason, retryable, ...(expected ? {} : { internal: error }) };
    }
  }

  async #idle(outcome: IdleOutcome, version?: string, extra: Partial<AgentEvent> = {}): Promise<CheckOutcome> {
    await this.#emit({ event: "idle", outcome, ...(version ? { version } : {}), ...extra });
    return { kind: "idle", outcome, ...(version ? { version } : {}) };
  }

  async #check(journal: Journal): Promise<CheckOutcome> {
    const c = this.#config;
    const session = await openTrustedMetadata(this.layout, { repository: c.repository, trustedRoot: c.trustedRoot, timeoutMs: c.download.readTimeoutMs });
    const { updater } = session;
    await updater.refresh();
    const rollout = rolloutOf(await updater.getTargetInfo(`rollout/${c.channel}/${c.model}.json`));
    if (!rollout) {
      await session.commit();
      return this.#idle("no-rollout");
    }
    const prefix = `${c.channel}/${c.model}/${rollout.version}/${c.device.class}`;
    const modelInfo = await updater.getTargetInfo(`${prefix}/model.onnx`);
    await session.commit();
    const active = journal.active;
    if (active?.version === rollout.version) return this.#idle("up-to-date", rollout.version);
    if (rollout.halted) return this.#idle("halted", rollout.version);
    if (!modelInfo) return this.#idle("no-variant", rollout.version);
    const release = releaseCustom(modelInfo);
    const failed = journal.failed[rollout.version];
    if (failed?.digest === release.variantDigest) return this.#idle("failed-here", rollout.version);
    const stage = release.rolloutPlan.stages[rollout.stage];
    if (!stage) throw new CheckFailure(`the rollout names stage ${rollout.stage + 1}, which the release's plan does not have`, false);
    if (!inCohort(rollout.salt, c.device.id, stage.percent)) return this.#idle("not-in-stage", rollout.version, { stage: rollout.stage, percent: Number(stage.percent) });
    try {
      return await this.#update(journal, rollout, release, prefix, updater);
    } finally {
      this.#deps.healthCheck.discard?.();
    }
  }

  async #step(journal: Journal, target: InstalledVersion, step: UpdateStep): Promise<Journal> {
    const next: Journal = { ...journal, pending: { ...target, step, startedAt: this.#now().toISOString() } };
    await writeJournal(this.layout.journal, next);
    return next;
  }

  async #update(start: Journal, rollout: RolloutState, release: ReleaseCustom, prefix: string, updater: { getTargetInfo(path: string): Promise<TargetFile | undefined> }): Promise<CheckOutcome> {
    const c = this.#config;
    const name = versionDirName(rollout.version, release.variantDigest);
    const target: InstalledVersion = { version: rollout.version, digest: release.variantDigest, dir: name };
    const from = start.active?.version;
    const identity: VariantFiles = { files: release.variantFiles.map((f) => ({ name: f.name, bytes: f.bytes, sha256: f.sha256 })), digest: release.variantDigest };

    // Downloading: every file against its own signed target info, resumable.
    let journal = await this.#step(start, target, "downloading");
    const staging = join(this.layout.downloads, name);
    await mkdir(staging, { recursive: true });
    const bytes = identity.files.reduce((sum, f) => sum + f.bytes, 0);
    await this.#emit({ event: "downloading", version: rollout.version, stage: rollout.stage, bytes });
    this.#deps.healthCheck.prepare?.();
    const began = Date.now();
    for (const file of identity.files) {
      const info = await updater.getTargetInfo(`${prefix}/${file.name}`);
      const sha256 = info?.hashes["sha256"];
      if (!info || !sha256 || info.length !== file.bytes || sha256 !== file.sha256) throw new CheckFailure(`the release's file ${file.name} is not signed as its variant says`, false);
      const url = `${c.repository}/targets/${hashPrefixedName(info.path, sha256)}`;
      await this.#deps.download(url, join(staging, file.name), { length: info.length, sha256 }, { readTimeoutMs: c.download.readTimeoutMs });
    }
    // Verifying: each file was checked against its signed length and sha256 as it arrived; together they
    // must be the variant the release signed (its digest over every file), and nothing else may lie beside them.
    journal = await this.#step(journal, target, "verifying");
    await this.#emit({ event: "verifying", version: rollout.version, durationMs: Date.now() - began });
    await this.#removeStrays(staging, identity);
    let digest: string;
    try {
      digest = variantDigest(identity.files);
    } catch (error) {
      throw new CheckFailure(`the release's variant files are malformed: ${reasonOf(error)}`, false, { cause: error });
    }
    if (digest !== identity.digest) throw new CheckFailure(`the release's files do not make up its signed variant (digest ${digest}, ${identity.digest} signed)`, false);

    // Installing, beside the active version.
    journal = await this.#step(journal, target, "installing");
    await this.#emit({ event: "installing", version: rollout.version });
    const record: ReleaseRecord = { model: c.model, channel: c.channel, version: rollout.version, variant: release.variant, deviceClass: c.device.class, digest: release.variantDigest, files: identity.files, modelFile: "model.onnx", installedAt: this.#now().toISOString() };
    const dir = await installVersion(this.layout, name, identity.files.map((f) => ({ name: f.name, path: join(staging, f.name) })), record);
    await rm(staging, { recursive: true, force: true });

    // Health-checking: the release's fixture on this device, before anything switches.
    journal = await this.#step(journal, target, "health-checking");
    await this.#emit({ event: "health-checking", version: rollout.version });
    const health = await this.#healthCheck(join(dir, "model.onnx"), release.healthCheck);
    if (!health.ok) {
      const reason = `health check failed: ${health.problems.join("; ")}`;
      await rm(dir, { recursive: true, force: true });
      const failed = { ...journal.failed, [rollout.version]: { digest: release.variantDigest, reason, at: this.#now().toISOString() } };
      await writeJournal(this.layout.journal, { ...journal, pending: null, failed });
      await this.#emit({ event: "rolled-back", version: rollout.version, stage: rollout.stage, ...(from ? { from } : {}), reason, ...(health.latencyMs !== undefined ? { latencyMs: health.latencyMs } : {}), ...(health.loadMs !== undefined ? { loadMs: health.loadMs } : {}) });
      return { kind: "rolled-back", version: rollout.version, reason };
    }

    // Switching: one rename of the `active` link; the journal says so first, so a kill here is finished by recovery.
    journal = await this.#step(journal, target, "switching");
    await switchActive(this.layout, name);
    const previous = start.active && start.active.dir !== name ? start.active : start.previous;
    journal = { ...journal, active: target, previous, pending: null, interrupted: {} };
    await writeJournal(this.layout.journal, journal);
    await pruneVersions(this.layout, new Set([name, previous?.dir].filter((d): d is string => d !== undefined)));
    await this.#emit({ event: "active", version: rollout.version, stage: rollout.stage, ...(from ? { from } : {}), durationMs: Date.now() - began, ...(health.latencyMs !== undefined ? { latencyMs: health.latencyMs } : {}), ...(health.loadMs !== undefined ? { loadMs: health.loadMs } : {}) });
    return { kind: "updated", version: rollout.version, ...(from ? { from } : {}) };
  }

  async #healthCheck(modelPath: string, fixture: unknown): Promise<Awaited<ReturnType<HealthCheckFunction>>> {
    const c = this.#config;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Awaited<ReturnType<HealthCheckFunction>>>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, problems: [`did not finish within ${c.healthCheck.timeoutMs} ms`] }), c.healthCheck.timeoutMs);
    });
    try {
      return await Promise.race([
        this.#deps.healthCheck(modelPath, fixture, c.healthCheck.budgetMs === undefined ? {} : { budgetMs: c.healthCheck.budgetMs }).catch((error: unknown) => ({ ok: false, problems: [reasonOf(error)] })),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Files in a staging directory that the variant does not have (a partial download of an older attempt). */
  async #removeStrays(staging: string, identity: VariantFiles): Promise<void> {
    const names = new Set(identity.files.map((f) => f.name));
    for (const entry of await readdir(staging)) if (!names.has(entry)) await rm(join(staging, entry), { recursive: true, force: true });
  }
}

/**
 * tuf-js's refusals of what the repository served (expired, rolled back,
 * badly signed, malformed metadata …): the check fails and the device is
 * unchanged. tuf-js throws classes of its own (`ExpiredMetadataError`,
 * `EqualVersionError`, `LengthOrHashMismatchError`, `ValueError` …, see
 * {@link isTufError}); the models reject malformed metadata with a
 * `TypeError` raised while reading it.
 */
function isTufRefusal(error: unknown): boolean {
  if (isTufError(error)) return true;
  const stack = error instanceof Error ? (error.stack ?? "") : "";
  return error instanceof TypeError && /@tufjs|tuf-js/.test(stack);
}
