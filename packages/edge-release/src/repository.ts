/**
 * A TUF 1.0 repository in a directory, ready for any static host:
 *
 *     metadata/<N>.root.json      every root version, each signed by the
 *                                 previous root's keys and its own
 *     metadata/<N>.targets.json   model files of every channel
 *     metadata/<N>.rollout.json   the delegated rollout role: rollout state
 *     metadata/<N>.snapshot.json
 *     metadata/timestamp.json     the one file ever replaced: the commit point
 *     targets/<channel>/<model>/<version>/<device-class>/<sha256>.<file>
 *     targets/rollout/<channel>/<sha256>.<model>.json
 *
 * Consistent snapshots: versioned metadata files are only ever added, target
 * files are named by their hash. Every change writes its target files first,
 * then the new targets/rollout metadata, then the snapshot, and the
 * timestamp last, each atomically; until the timestamp is replaced, the
 * repository is the previous one, whole.
 */
import { createHash } from "node:crypto";
import { access, mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createAtomicWriteStream, writeFileAtomic } from "@slmops/atomic-file";
import { openRegularFile, readRegularFile, UnreadableFileError } from "@slmops/contained-fs";
import { ConfigurationError } from "@slmops/diagnostics";
import { envelopeText, releaseStatement, signReleaseStatement } from "@slmops/release-provenance";
import { canonicalize } from "@tufjs/canonical-json";
import { Metadata, MetadataKind, Root, Snapshot, TargetFile, Targets, Timestamp } from "@tufjs/models";
import { roleKeyVariable } from "./key-variables.js";
import type { SigningKey } from "./keys.js";
import {
  checkedThreshold,
  expiresAt,
  expiryOf,
  publicKeyOf,
  type Expiry,
  type RoleKeys,
  type RoleName,
  type Signers,
  type TopLevelRole,
} from "./policy.js";
import {
  checkChannel,
  checkRelease,
  checkSegment,
  checkVersion,
  modelTargetPath,
  notPassed,
  releasePrefix,
  ROLLOUT_PREFIX,
  targetCustom,
  type Release,
  type ReleaseTarget,
  type VariantFile,
} from "./release.js";

/** JSON as `@tufjs/models` reads it. */
type JsonObject = Parameters<typeof Targets.fromJSON>[0];

/** The TUF specification version the metadata declares. */
export const SPEC_VERSION = "1.0.31";
/** The delegated role that signs rollout state. */
export const ROLLOUT_ROLE = "rollout";
/** The only paths the rollout role is trusted for: `rollout/<channel>/<model>.json`. */
export const ROLLOUT_PATHS: readonly string[] = [`${ROLLOUT_PREFIX}/*/*`];

const MAX_METADATA_BYTES = 64 * 1024 * 1024;

export function metadataDirectory(dir: string): string {
  return path.join(dir, "metadata");
}

export function targetsDirectory(dir: string): string {
  return path.join(dir, "targets");
}

/** The repository's current, verified metadata. */
export interface RepositoryState {
  readonly root: Metadata<Root>;
  readonly timestamp: Metadata<Timestamp>;
  readonly snapshot: Metadata<Snapshot>;
  readonly targets: Metadata<Targets>;
  readonly rollout: Metadata<Targets>;
}

interface CommonOptions {
  readonly signers: Signers;
  readonly expiry?: Expiry;
  /** The signing time (default: now). */
  readonly now?: Date;
}

// ---------------------------------------------------------------- reading

async function readMetadata(dir: string, file: string): Promise<JsonObject> {
  const bytes = await readRegularFile(path.join(metadataDirectory(dir), file), { maxBytes: MAX_METADATA_BYTES, what: "release metadata", noFollow: true });
  return JSON.parse(bytes.toString("utf8")) as JsonObject;
}

async function latestRootVersion(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(metadataDirectory(dir));
  } catch (error) {
    throw new ConfigurationError(`${dir} holds no release repository (no metadata directory); make one with \`slmops release build --repo ${dir}\` (or publish-edge-release), or give the directory that holds it`, { cause: error });
  }
  const versions = names.map((name) => /^([1-9]\d{0,15})\.root\.json$/.exec(name)?.[1]).filter((v): v is string => v !== undefined).map(Number);
  if (versions.length === 0) throw new ConfigurationError(`${dir} holds no release repository (no root metadata); make one with \`slmops release build --repo ${dir}\` (or publish-edge-release), or give the directory that holds it`);
  return Math.max(...versions);
}

function snapshotVersionOf(snapshot: Metadata<Snapshot>, role: string): number {
  const meta = snapshot.signed.meta[`${role}.json`];
  if (!meta) throw new Error(`the snapshot lists no ${role} metadata`);
  return meta.version;
}

/** Reads the repository's current metadata and checks every signature along the chain. */
export async function loadRepository(dir: string): Promise<RepositoryState> {
  const rootVersion = await latestRootVersion(dir);
  try {
    const root = Metadata.fromJSON(MetadataKind.Root, await readMetadata(dir, `${rootVersion}.root.json`));
    const timestamp = Metadata.fromJSON(MetadataKind.Timestamp, await readMetadata(dir, "timestamp.json"));
    const snapshot = Metadata.fromJSON(MetadataKind.Snapshot, await readMetadata(dir, `${timestamp.signed.snapshotMeta.version}.snapshot.json`));
    const targets = Metadata.fromJSON(MetadataKind.Targets, await readMetadata(dir, `${snapshotVersionOf(snapshot, "targets")}.targets.json`));
    const rollout = Metadata.fromJSON(MetadataKind.Targets, await readMetadata(dir, `${snapshotVersionOf(snapshot, ROLLOUT_ROLE)}.${ROLLOUT_ROLE}.json`));
    root.verifyDelegate(MetadataKind.Root, root);
    root.verifyDelegate(MetadataKind.Timestamp, timestamp);
    root.verifyDelegate(MetadataKind.Snapshot, snapshot);
    root.verifyDelegate(MetadataKind.Targets, targets);
    targets.verifyDelegate(ROLLOUT_ROLE, rollout);
    return { root, timestamp, snapshot, targets, rollout };
  } catch (error) {
    if (error instanceof ConfigurationError && !(error instanceof UnreadableFileError)) throw error;
    throw new Error(`the release repository in ${dir} is incomplete or does not verify`, { cause: error });
  }
}

// ---------------------------------------------------------------- signing and writing

interface Authority {
  readonly keyIDs: readonly string[];
  readonly threshold: number;
}

function rootAuthority(root: Root, role: TopLevelRole): Authority {
  const entry = root.roles[role];
  if (!entry) throw new Error(`the root metadata defines no ${role} role`);
  return entry;
}

function rolloutAuthority(targets: Targets): Authority {
  const entry = targets.delegations?.roles?.[ROLLOUT_ROLE];
  if (!entry) throw new Error("the targets metadata delegates no rollout role");
  return entry;
}

/** Signs `metadata` with every given key the authority trusts; refuses fewer than its threshold. */
function signWith(metadata: Metadata<Root | Targets | Snapshot | Timestamp>, role: RoleName, signers: Signers, authorities: readonly Authority[]): void {
  const keys = signers[role] ?? [];
  const trusted = new Set(authorities.flatMap((authority) => authority.keyIDs));
  const used = new Map<string, SigningKey>();
  for (const key of keys) if (trusted.has(key.keyId)) used.set(key.keyId, key);
  for (const authority of authorities) {
    const count = authority.keyIDs.filter((id) => used.has(id)).length;
    if (count < authority.threshold) {
      throw new ConfigurationError(
        `signing the ${role} metadata needs ${authority.threshold} of its ${authority.keyIDs.length} trusted key(s); ${count} of the keys given are trusted. ` +
          `Give the ${role} key made for this repository (${roleKeyVariable(role)} when the keys come from the environment), or replace the role's key with \`slmops keys rotate --role ${role}\``,
      );
    }
  }
  metadata.signatures = {};
  for (const key of used.values()) metadata.sign(key.signer, true);
}

function metadataBytes(metadata: Metadata<Root | Targets | Snapshot | Timestamp>): Buffer {
  return Buffer.from(`${JSON.stringify(metadata.toJSON(), null, 2)}\n`, "utf8");
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Writes a metadata file; a versioned file is never replaced. */
async function writeMetadata(dir: string, file: string, bytes: Buffer): Promise<void> {
  const target = path.join(metadataDirectory(dir), file);
  if (file !== "timestamp.json" && (await exists(target))) {
    throw new Error(`${file} already exists in the release repository; versioned metadata is never replaced`);
  }
  await writeFileAtomic(target, bytes);
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function nextSigned(previous: { toJSON(): object; version: number }, now: Date, lifetime: number, changes: JsonObject = {}): JsonObject {
  return { ...(previous.toJSON() as JsonObject), ...changes, version: previous.version + 1, expires: expiresAt(now, lifetime) };
}

/** The state a commit starts from; a new repository has no snapshot or timestamp yet. */
type PreviousState = Omit<RepositoryState, "snapshot" | "timestamp"> & Partial<Pick<RepositoryState, "snapshot" | "timestamp">>;

interface Change {
  /** A new root version (signed already), written first. */
  readonly root?: Metadata<Root>;
  readonly targets?: Metadata<Targets>;
  readonly rollout?: Metadata<Targets>;
}

/**
 * Writes the new root version, the changed targets and rollout metadata, then
 * a new snapshot, then a new timestamp. Everything is signed before anything
 * is written, so a key that is missing or not trusted leaves the repository
 * as it was; the new state's files are on disk before the timestamp names them.
 */
async function commit(dir: string, state: PreviousState, change: Change, options: CommonOptions): Promise<RepositoryState> {
  const now = options.now ?? new Date();
  const root = change.root ?? state.root;
  const writes: { file: string; bytes: Buffer }[] = [];
  if (change.root) writes.push({ file: `${change.root.signed.version}.root.json`, bytes: metadataBytes(change.root) });
  const meta: JsonObject = { ...((state.snapshot?.signed.toJSON()["meta"] ?? {}) as JsonObject) };
  let targets = state.targets;
  let rollout = state.rollout;
  if (change.rollout) {
    rollout = change.rollout;
    const bytes = metadataBytes(rollout);
    writes.push({ file: `${rollout.signed.version}.${ROLLOUT_ROLE}.json`, bytes });
    meta[`${ROLLOUT_ROLE}.json`] = { version: rollout.signed.version, length: bytes.length, hashes: { sha256: sha256(bytes) } };
  }
  if (change.targets) {
    targets = change.targets;
    const bytes = metadataBytes(targets);
    writes.push({ file: `${targets.signed.version}.targets.json`, bytes });
    meta["targets.json"] = { version: targets.signed.version, length: bytes.length, hashes: { sha256: sha256(bytes) } };
  }
  const snapshot = new Metadata(
    Snapshot.fromJSON({
      _type: "snapshot",
      spec_version: SPEC_VERSION,
      version: (state.snapshot?.signed.version ?? 0) + 1,
      expires: expiresAt(now, expiryOf("snapshot", options.expiry)),
      meta,
    }),
  );
  signWith(snapshot, "snapshot", options.signers, [rootAuthority(root.signed, "snapshot")]);
  const snapshotBytes = metadataBytes(snapshot);
  writes.push({ file: `${snapshot.signed.version}.snapshot.json`, bytes: snapshotBytes });
  const timestamp = new Metadata(
    Timestamp.fromJSON({
      _type: "timestamp",
      spec_version: SPEC_VERSION,
      version: (state.timestamp?.signed.version ?? 0) + 1,
      expires: expiresAt(now, expiryOf("timestamp", options.expiry)),
      meta: { "snapshot.json": { version: snapshot.signed.version, length: snapshotBytes.length, hashes: { sha256: sha256(snapshotBytes) } } },
    }),
  );
  signWith(timestamp, "timestamp", options.signers, [rootAuthority(root.signed, "timestamp")]);
  writes.push({ file: "timestamp.json", bytes: metadataBytes(timestamp) });
  for (const { file, bytes } of writes) await writeMetadata(dir, file, bytes);
  return { root, timestamp, snapshot, targets, rollout };
}

// ---------------------------------------------------------------- init

export interface InitOptions extends CommonOptions {
  /** The keys each role trusts, and its threshold. */
  readonly roles: Readonly<Record<RoleName, RoleKeys>>;
}

function keysJson(roles: Partial<Record<RoleName, RoleKeys>>, names: readonly RoleName[]): JsonObject {
  const keys: JsonObject = {};
  for (const name of names) {
    for (const key of roles[name]?.keys ?? []) {
      const publicKey = publicKeyOf(key);
      keys[publicKey.keyID] = publicKey.toJSON() as JsonObject;
    }
  }
  return keys;
}

function roleJson(name: RoleName, keys: RoleKeys): JsonObject {
  const ids = [...new Set(keys.keys.map((key) => publicKeyOf(key).keyID))];
  return { keyids: ids, threshold: checkedThreshold(name, keys) };
}

const TOP_LEVEL: readonly TopLevelRole[] = ["root", "targets", "snapshot", "timestamp"];

/**
 * Creates a repository in `dir` (which must not hold one): root version 1,
 * an empty targets role delegating `rollout/*\/*` to the rollout role, an
 * empty rollout role, a snapshot and a timestamp. `metadata/1.root.json` is
 * the trust anchor to install on devices.
 */
export async function initRepository(dir: string, options: InitOptions): Promise<RepositoryState> {
  const now = options.now ?? new Date();
  const metadataDir = metadataDirectory(dir);
  if ((await exists(metadataDir)) && (await readdir(metadataDir)).some((name) => name.endsWith(".json"))) {
    throw new ConfigurationError(`${dir} already holds a release repository`);
  }
  await mkdir(metadataDir, { recursive: true });
  await mkdir(targetsDirectory(dir), { recursive: true });
  const roles: JsonObject = {};
  for (const name of TOP_LEVEL) roles[name] = roleJson(name, options.roles[name]);
  const root = new Metadata(
    Root.fromJSON({
      _type: "root",
      spec_version: SPEC_VERSION,
      version: 1,
      expires: expiresAt(now, expiryOf("root", options.expiry)),
      consistent_snapshot: true,
      keys: keysJson(options.roles, TOP_LEVEL),
      roles,
    }),
  );
  signWith(root, "root", options.signers, [rootAuthority(root.signed, "root")]);
  const targets = new Metadata(
    Targets.fromJSON({
      _type: "targets",
      spec_version: SPEC_VERSION,
      version: 1,
      expires: expiresAt(now, expiryOf("targets", options.expiry)),
      targets: {},
      delegations: {
        keys: keysJson(options.roles, ["rollout"]),
        roles: [{ name: ROLLOUT_ROLE, ...roleJson("rollout", options.roles.rollout), terminating: true, paths: [...ROLLOUT_PATHS] }],
      },
    }),
  );
  signWith(targets, "targets", options.signers, [rootAuthority(root.signed, "targets")]);
  const rollout = new Metadata(
    Targets.fromJSON({ _type: "targets", spec_version: SPEC_VERSION, version: 1, expires: expiresAt(now, expiryOf("rollout", options.expiry)), targets: {} }),
  );
  signWith(rollout, "rollout", options.signers, [rolloutAuthority(targets.signed)]);
  return commit(dir, { root, targets, rollout }, { root, targets, rollout }, options);
}

// ---------------------------------------------------------------- releases

export interface PublishOptions extends CommonOptions {
  /** Publish although a device class's verdict is not a pass; recorded in the signed metadata. */
  readonly force?: boolean;
}

export interface PublishResult {
  /** False when the identical release was already published: nothing was written. */
  readonly changed: boolean;
  /** The model target paths of the release. */
  readonly paths: readonly string[];
  /** The release's signed provenance, relative to the repository ({@link provenancePath}). */
  readonly provenance: string;
  readonly state: RepositoryState;
}

/** Where a target's file lies on disk, with its hash prefix (consistent snapshots). */
export function storedTargetPath(dir: string, targetPath: string, sha256Hex: string): string {
  const slash = targetPath.lastIndexOf("/");
  const name = `${sha256Hex}.${targetPath.slice(slash + 1)}`;
  return path.join(targetsDirectory(dir), ...targetPath.slice(0, slash + 1).split("/").filter(Boolean), name);
}

class HashCheck extends Transform {
  private readonly hash = createHash("sha256");
  private length = 0;
  constructor(private readonly expected: VariantFile, private readonly what: string) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.length += chunk.length;
    callback(null, chunk);
  }
  override _flush(callback: TransformCallback): void {
    if (this.length !== this.expected.bytes || this.hash.digest("hex") !== this.expected.sha256) {
      callback(new ConfigurationError(`${this.what} differs from the variant's identity (length or sha256); rebuild the variant before releasing it`));
      return;
    }
    callback();
  }
}

/**
 * Where a release's provenance lies, relative to the repository: beside the
 * metadata, `metadata/<channel>/<model>/<version>.provenance.intoto.json` —
 * a DSSE envelope of the in-toto statement naming every released file by its
 * target path and sha256, signed with the targets key (its key id is the TUF
 * key id, so root's `roles.targets.keyids` and `keys` give the key to verify
 * it with).
 */
export function provenancePath(channel: string, model: string, version: string): string {
  return ["metadata", checkChannel(channel), checkSegment("model id", model), `${checkVersion(version)}.provenance.intoto.json`].join("/");
}

/** Signs the release's statement with the first given targets key root trusts, and writes it (before the metadata that names the release). */
async function writeProvenance(dir: string, release: Release, entries: readonly { entry: TargetFile }[], root: Root, signers: Signers): Promise<string> {
  const trusted = rootAuthority(root, "targets").keyIDs;
  const key = (signers.targets ?? []).find((candidate) => trusted.includes(candidate.keyId));
  if (!key) throw new ConfigurationError("signing the release's provenance needs a targets key the root trusts; none of the keys given is");
  const statement = releaseStatement(
    entries.map(({ entry }) => ({ name: entry.path, sha256: entry.hashes["sha256"] ?? "" })),
    { model: release.model, version: release.version, sourceCommit: release.sourceCommit, manifestSha256: release.manifestDigest },
  );
  const relative = provenancePath(release.channel, release.model, release.version);
  const file = path.join(dir, ...relative.split("/"));
  await mkdir(path.dirname(file), { recursive: true });
  // Not TUF metadata, so not versioned: a publish interrupted before its
  // timestamp is redone with the same statement, and ed25519 signs it to the same bytes.
  await writeFileAtomic(file, Buffer.from(envelopeText(signReleaseStatement(statement, key.dsseSigner())), "utf8"));
  return relative;
}

/**
 * Read size when copying a target: 1 MiB, as variant-identity hashes. The
 * stream default (64 KiB) costs a write and a hash update per 64 KiB and made
 * publishing a 100 MB variant about 3x the time of hashing it; 1 MiB halves that.
 */
const COPY_CHUNK = 1024 * 1024;

/** Copies one variant file to its hash-named place, checking it against the identity on the way. */
async function storeTargetFile(dir: string, target: ReleaseTarget, file: VariantFile, targetPath: string): Promise<void> {
  const destination = storedTargetPath(dir, targetPath, file.sha256);
  await mkdir(path.dirname(destination), { recursive: true });
  const what = `file ${file.name} of variant ${target.variant} (${target.deviceClass})`;
  const { handle } = await openRegularFile(path.join(target.directory, file.name), { maxBytes: file.bytes, what, noFollow: true });
  try {
    await pipeline(handle.createReadStream({ autoClose: false, highWaterMark: COPY_CHUNK }), new HashCheck(file, what), createAtomicWriteStream(destination));
  } finally {
    await handle.close();
  }
}

/**
 * Publishes a release: for each device class, its variant's files as targets
 * under `<channel>/<model>/<version>/<device-class>/`. The same version with
 * other content is refused; the identical release again changes nothing.
 */
export async function publishRelease(dir: string, release: Release, options: PublishOptions): Promise<PublishResult> {
  checkRelease(release);
  const failed = notPassed(release);
  if (failed.length > 0 && options.force !== true) {
    throw new ConfigurationError(
      `the gate did not pass on ${failed.join(", ")}; the release is refused (force it to publish anyway — the force is recorded in the signed metadata)`,
    );
  }
  const state = await loadRepository(dir);
  const entries = release.targets.flatMap((target) =>
    target.identity.files.map((file) => {
      const targetPath = modelTargetPath(release, target, file);
      const entry = new TargetFile({ path: targetPath, length: file.bytes, hashes: { sha256: file.sha256 }, unrecognizedFields: { custom: targetCustom(release, target, file, failed) as unknown as JsonObject } });
      return { target, file, entry };
    }),
  );
  const paths = entries.map(({ entry }) => entry.path);
  const prefix = releasePrefix(release.channel, release.model, release.version);
  const existing = Object.values(state.targets.signed.targets).filter((entry) => entry.path.startsWith(prefix));
  if (existing.length > 0) {
    const same =
      existing.length === entries.length &&
      entries.every(({ entry }) => {
        const old = state.targets.signed.targets[entry.path];
        return old !== undefined && canonicalize(old.toJSON()) === canonicalize(entry.toJSON());
      });
    if (same) return { changed: false, paths, provenance: provenancePath(release.channel, release.model, release.version), state };
    throw new ConfigurationError(
      `version ${release.version} of ${release.model} is already published on channel ${release.channel} with other content; a version is never reused — publish a new version (\`slmops release build\` names the version after the commit when none is given: commit the change first, or pass --version)`,
    );
  }
  for (const { target, file, entry } of entries) await storeTargetFile(dir, target, file, entry.path);
  const now = options.now ?? new Date();
  const targetsJson = { ...(state.targets.signed.toJSON()["targets"] as JsonObject) };
  for (const { entry } of entries) targetsJson[entry.path] = entry.toJSON() as JsonObject;
  const targets = new Metadata(Targets.fromJSON(nextSigned(state.targets.signed, now, expiryOf("targets", options.expiry), { targets: targetsJson })));
  signWith(targets, "targets", options.signers, [rootAuthority(state.root.signed, "targets")]);
  const provenance = await writeProvenance(dir, release, entries, state.root.signed, options.signers);
  return { changed: true, paths, provenance, state: await commit(dir, state, { targets }, options) };
}

// ---------------------------------------------------------------- rollout

/** Where a release stands in its rollout: the signed `custom.rollout` of its rollout target. */
export interface RolloutState {
  readonly channel: string;
  readonly model: string;
  /** The release being rolled out. */
  readonly version: string;
  /** Index into the release's rollout plan's stages. */
  readonly stage: number;
  /** Hex; mixed with a device id to place it in a cohort (`@slmops/rollout-cohort`'s `newCohortSalt` makes one). */
  readonly salt: string;
  readonly halted: boolean;
  /**
   * When the current stage began, as the writer's clock said: ISO 8601 UTC to
   * the second (`2025-01-31T12:00:00Z`). {@link setRolloutState} sets it when
   * the version or the stage changes and keeps it otherwise; a stage's soak
   * counts from it ({@link stageSoak}).
   */
  readonly stageStartedAt: string;
  /** When the rollout was halted, in the same form; present exactly when `halted`. */
  readonly haltedAt?: string;
}

/** What a caller asks {@link setRolloutState} for: the times are the writer's to set, from its clock. */
export type RolloutChange = Omit<RolloutState, "stageStartedAt" | "haltedAt">;

/**
 * The target path of a channel's model's rollout state. A device reads the
 * state from this target's signed `custom.rollout` (from `getTargetInfo`), so
 * it is verified by the same walk as a model and needs no download.
 */
export function rolloutTargetPath(channel: string, model: string): string {
  return `${ROLLOUT_PREFIX}/${channel}/${model}.json`;
}

const SALT = /^[0-9a-f]{32,128}$/;
const SIGNED_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** A time as the rollout state signs it: ISO 8601 UTC, whole seconds (rounded down). */
export function signedTime(time: Date): string {
  return expiresAt(time, 0);
}

/** The time a signed time string names, or undefined unless it is exactly in {@link signedTime}'s form and a real date. */
function parseSignedTime(text: unknown): Date | undefined {
  if (typeof text !== "string" || !SIGNED_TIME.test(text)) return undefined;
  const time = new Date(text);
  return Number.isNaN(time.getTime()) || signedTime(time) !== text ? undefined : time;
}

/**
 * Reads and checks a signed rollout state (a rollout target's
 * `custom.rollout`); `origin` says where it came from in the refusal. Every
 * field must be present and well formed — channel, model and version as a
 * release names them, the stage a whole number, the salt 32 to 128 lowercase
 * hex digits, `stageStartedAt` (and `haltedAt`, present exactly when halted)
 * ISO 8601 UTC to the second and a real date — else the whole state is
 * refused with a {@link ConfigurationError}: nothing in it is trusted.
 * Fields it does not know are left out. Whether a time lies in the future is
 * not judged here (a reader's clock may be wrong): {@link stageSoak} refuses
 * to count a soak from the future.
 */
export function readRolloutState(value: unknown, origin: string): RolloutState {
  const refuse = (what: string): never => {
    throw new ConfigurationError(`${origin}: the signed rollout state is malformed (${what}); nothing in it is trusted: a device does not act on it, and it is neither promoted nor halted`);
  };
  if (value === null || typeof value !== "object" || Array.isArray(value)) return refuse("not an object");
  const v = value as Record<string, unknown>;
  const text = (name: string, check: (s: string) => unknown): string => {
    const field = v[name];
    if (typeof field !== "string") return refuse(`${name} is not a string`);
    try {
      check(field);
    } catch (error) {
      return refuse(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return field;
  };
  const channel = text("channel", checkChannel);
  const model = text("model", (s) => checkSegment("model id", s));
  const version = text("version", checkVersion);
  const stage = v["stage"];
  if (typeof stage !== "number" || !Number.isSafeInteger(stage) || stage < 0) return refuse("stage is not a whole number of at least 0");
  const salt = text("salt", (s) => {
    if (!SALT.test(s)) throw new Error("not 32 to 128 lowercase hex digits");
  });
  const halted = v["halted"];
  if (typeof halted !== "boolean") return refuse("halted is not true or false");
  const time = (name: string): string => {
    const field = v[name];
    if (parseSignedTime(field) === undefined) return refuse(`${name} is not an ISO 8601 UTC time to the second, like 2025-01-31T12:00:00Z`);
    return field as string;
  };
  const stageStartedAt = time("stageStartedAt");
  if (halted !== ("haltedAt" in v)) return refuse(halted ? "halted but no haltedAt" : "haltedAt but not halted");
  return { channel, model, version, stage: stage as number, salt, halted, stageStartedAt, ...(halted ? { haltedAt: time("haltedAt") } : {}) };
}

/** Where the current stage's soak stands at a given time. */
export interface StageSoak {
  /** When the stage began ({@link RolloutState.stageStartedAt}). */
  readonly startedAt: Date;
  /** When its soak is over. */
  readonly endsAt: Date;
  /** Milliseconds of soak left; 0 once it is over. */
  readonly remainingMs: number;
}

/**
 * How far the current stage of `rollout` has soaked at `now` (default: this
 * machine's clock), for a stage whose soak is `soakMs`. A signed start later
 * than `now` is refused with a {@link ConfigurationError}: a soak is not
 * counted from the future — either this clock or the signer's is wrong, and
 * the stage cannot have soaked for any time yet.
 */
export function stageSoak(rollout: RolloutState, soakMs: number, now: Date = new Date()): StageSoak {
  if (!Number.isFinite(soakMs) || soakMs < 0) throw new ConfigurationError(`a stage's soak must be a duration of 0 or more; got ${soakMs} ms`);
  const startedAt = parseSignedTime(rollout.stageStartedAt);
  if (startedAt === undefined) {
    throw new ConfigurationError(`the rollout of ${rollout.model} ${rollout.version} on ${rollout.channel} has no well-formed stageStartedAt; its soak cannot be counted`);
  }
  if (startedAt.getTime() > now.getTime()) {
    throw new ConfigurationError(
      `stage ${rollout.stage + 1} of ${rollout.model} ${rollout.version} on ${rollout.channel} began at ${rollout.stageStartedAt} by its signed state, later than this machine's clock (${signedTime(now)}); ` +
        "its soak is not counted from the future. Check this machine's clock and that of the job that signed the state; once that time has passed, the soak counts from it",
    );
  }
  const endsAt = new Date(startedAt.getTime() + soakMs);
  return { startedAt, endsAt, remainingMs: Math.max(0, endsAt.getTime() - now.getTime()) };
}

/** The rollout state of every channel's model the repository signs, each checked ({@link readRolloutState}). */
export function rolloutStates(state: RepositoryState): RolloutState[] {
  return Object.values(state.rollout.signed.targets).map((target) => readRolloutState(target.custom["rollout"], `rollout target ${target.path}`));
}

function stagesOf(custom: Record<string, unknown>): number | undefined {
  const plan = custom["rolloutPlan"];
  if (plan && typeof plan === "object" && !Array.isArray(plan)) {
    const stages = (plan as Record<string, unknown>)["stages"];
    if (Array.isArray(stages)) return stages.length;
  }
  return undefined;
}

/** The state signed before, when it is well formed; a malformed one is replaced as if there were none. */
function previousRollout(entry: TargetFile | undefined): RolloutState | undefined {
  if (!entry) return undefined;
  try {
    return readRolloutState(entry.custom["rollout"], `rollout target ${entry.path}`);
  } catch {
    return undefined;
  }
}

/**
 * Signs a release's rollout state with the rollout role (and a new snapshot
 * and timestamp). Needs the rollout, snapshot and timestamp keys only; the
 * same state again changes nothing. The times come from `options.now`
 * (default: this machine's clock), and any the caller passes are ignored:
 * `stageStartedAt` is now when the version or the stage changes and is kept
 * otherwise (a halt alone does not restart a soak); `haltedAt` is now when
 * the rollout becomes halted, kept while it stays halted on the same
 * version, and absent when it is not halted.
 */
export async function setRolloutState(dir: string, rollout: RolloutChange, options: CommonOptions): Promise<{ changed: boolean; state: RepositoryState }> {
  checkChannel(rollout.channel);
  checkSegment("model id", rollout.model);
  checkVersion(rollout.version);
  if (!SALT.test(rollout.salt)) throw new ConfigurationError("the rollout salt must be 32 to 128 lowercase hex digits");
  if (typeof rollout.halted !== "boolean") throw new ConfigurationError("the rollout's halted must be true or false");
  const state = await loadRepository(dir);
  const prefix = releasePrefix(rollout.channel, rollout.model, rollout.version);
  const release = Object.values(state.targets.signed.targets).find((entry) => entry.path.startsWith(prefix));
  if (!release) {
    throw new ConfigurationError(`version ${rollout.version} of ${rollout.model} is not published on channel ${rollout.channel}; publish it before rolling it out`);
  }
  const stages = stagesOf(release.custom);
  if (!Number.isInteger(rollout.stage) || rollout.stage < 0 || (stages !== undefined && rollout.stage >= stages)) {
    throw new ConfigurationError(`rollout stage ${rollout.stage} does not exist: the release's plan has ${stages ?? "no"} stages, numbered from 0`);
  }
  const now = options.now ?? new Date();
  const targetPath = rolloutTargetPath(rollout.channel, rollout.model);
  const old = state.rollout.signed.targets[targetPath];
  const previous = previousRollout(old);
  const sameVersion = previous !== undefined && previous.version === rollout.version;
  const stageStartedAt = sameVersion && previous.stage === rollout.stage ? previous.stageStartedAt : signedTime(now);
  const haltedAt = rollout.halted ? (sameVersion && previous.haltedAt !== undefined ? previous.haltedAt : signedTime(now)) : undefined;
  const value: RolloutState = {
    channel: rollout.channel,
    model: rollout.model,
    version: rollout.version,
    stage: rollout.stage,
    salt: rollout.salt,
    halted: rollout.halted,
    stageStartedAt,
    ...(haltedAt === undefined ? {} : { haltedAt }),
  };
  const bytes = Buffer.from(canonicalize(value), "utf8");
  const hash = sha256(bytes);
  const entry = new TargetFile({ path: targetPath, length: bytes.length, hashes: { sha256: hash }, unrecognizedFields: { custom: { rollout: value as unknown as JsonObject } } });
  if (old && canonicalize(old.toJSON()) === canonicalize(entry.toJSON())) return { changed: false, state };
  const destination = storedTargetPath(dir, targetPath, hash);
  await mkdir(path.dirname(destination), { recursive: true });
  await writeFileAtomic(destination, bytes);
  const targetsJson = { ...(state.rollout.signed.toJSON()["targets"] as JsonObject), [targetPath]: entry.toJSON() as JsonObject };
  const signed = new Metadata(Targets.fromJSON(nextSigned(state.rollout.signed, now, expiryOf("rollout", options.expiry), { targets: targetsJson })));
  signWith(signed, "rollout", options.signers, [rolloutAuthority(state.targets.signed)]);
  return { changed: true, state: await commit(dir, state, { rollout: signed }, options) };
}

// ---------------------------------------------------------------- keys and freshness

export interface RotateRootOptions extends CommonOptions {
  /** The roles whose keys or threshold change; the others keep theirs. */
  readonly roles: Partial<Readonly<Record<TopLevelRole, RoleKeys>>>;
}

/**
 * Writes root version N+1 with the new keys, signed by a threshold of the
 * old root's keys and of the new root's own (`signers.root` holds both), then
 * re-signs what the new keys must sign: targets when its keys changed, and
 * always a new snapshot and timestamp.
 */
export async function rotateRoot(dir: string, options: RotateRootOptions): Promise<RepositoryState> {
  const state = await loadRepository(dir);
  const now = options.now ?? new Date();
  const old = state.root.signed;
  const roles: JsonObject = {};
  const keys: JsonObject = {};
  for (const name of TOP_LEVEL) {
    const given = options.roles[name];
    const role = given ? roleJson(name, given) : (rootAuthority(old, name) as unknown as { toJSON(): JsonObject }).toJSON();
    roles[name] = role;
    const ids = given ? given.keys.map(publicKeyOf) : rootAuthority(old, name).keyIDs.map((id) => old.keys[id]);
    for (const key of ids) if (key) keys[key.keyID] = key.toJSON() as JsonObject;
  }
  const root = new Metadata(Root.fromJSON(nextSigned(old, now, expiryOf("root", options.expiry), { keys, roles })));
  signWith(root, "root", options.signers, [rootAuthority(old, "root"), rootAuthority(root.signed, "root")]);
  let targets: Metadata<Targets> | undefined;
  if (options.roles.targets) {
    targets = new Metadata(Targets.fromJSON(nextSigned(state.targets.signed, now, expiryOf("targets", options.expiry))));
    signWith(targets, "targets", options.signers, [rootAuthority(root.signed, "targets")]);
  }
  return commit(dir, state, targets ? { root, targets } : { root }, options);
}

export interface RotateRolloutOptions extends CommonOptions {
  /** The keys the rollout role trusts from now on, and its threshold. */
  readonly rollout: RoleKeys;
}

interface DelegatedRoleJson {
  readonly name: string;
  readonly keyids: readonly string[];
  readonly [field: string]: unknown;
}

/**
 * Replaces the keys of the delegated rollout role. The delegation is in the
 * targets metadata, so root does not change: a new targets metadata names the
 * new keys (signed by the targets keys root trusts), the rollout metadata is
 * signed again by the new keys with its state unchanged, and a new snapshot
 * and timestamp commit both. `signers` holds the targets key, the new rollout
 * key(s), and the snapshot and timestamp keys; the old rollout key is not
 * needed, and once the timestamp names the new targets metadata, rollout
 * metadata signed by it alone is refused by a device.
 */
export async function rotateRolloutKeys(dir: string, options: RotateRolloutOptions): Promise<RepositoryState> {
  const state = await loadRepository(dir);
  const now = options.now ?? new Date();
  const current = state.targets.signed.toJSON() as { delegations?: { keys?: JsonObject; roles?: DelegatedRoleJson[] } };
  const delegations = current.delegations;
  const roles = delegations?.roles ?? [];
  if (!roles.some((role) => role.name === ROLLOUT_ROLE)) throw new Error("the targets metadata delegates no rollout role");
  const rollout = roleJson("rollout", options.rollout);
  const kept = new Set(roles.filter((role) => role.name !== ROLLOUT_ROLE).flatMap((role) => role.keyids));
  const keys: JsonObject = {};
  for (const [id, key] of Object.entries(delegations?.keys ?? {})) if (kept.has(id)) keys[id] = key;
  for (const key of options.rollout.keys) {
    const publicKey = publicKeyOf(key);
    keys[publicKey.keyID] = publicKey.toJSON() as JsonObject;
  }
  const delegation = { ...delegations, keys, roles: roles.map((role) => (role.name === ROLLOUT_ROLE ? { ...role, ...rollout } : role)) };
  const targets = new Metadata(Targets.fromJSON(nextSigned(state.targets.signed, now, expiryOf("targets", options.expiry), { delegations: delegation as unknown as JsonObject })));
  signWith(targets, "targets", options.signers, [rootAuthority(state.root.signed, "targets")]);
  const signed = new Metadata(Targets.fromJSON(nextSigned(state.rollout.signed, now, expiryOf("rollout", options.expiry))));
  signWith(signed, "rollout", options.signers, [rolloutAuthority(targets.signed)]);
  return commit(dir, state, { targets, rollout: signed }, options);
}

/**
 * A new snapshot and timestamp (the daily job that keeps devices from seeing
 * the repository as frozen). With `resignRollout` (the rollout key among the
 * signers), the rollout metadata is signed again as it is, with a new
 * version and expiry: a rollout that stays at one stage longer than the
 * rollout role's lifetime would otherwise expire on the devices.
 */
export async function refreshRepository(dir: string, options: CommonOptions & { readonly resignRollout?: boolean }): Promise<RepositoryState> {
  const state = await loadRepository(dir);
  if (!options.resignRollout) return commit(dir, state, {}, options);
  const now = options.now ?? new Date();
  const rollout = new Metadata(Targets.fromJSON(nextSigned(state.rollout.signed, now, expiryOf("rollout", options.expiry))));
  signWith(rollout, "rollout", options.signers, [rolloutAuthority(state.targets.signed)]);
  return commit(dir, state, { rollout }, options);
}
