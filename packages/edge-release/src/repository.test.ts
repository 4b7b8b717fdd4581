import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";
import { Metadata, MetadataKind, Snapshot, Targets, Timestamp } from "@tufjs/models";
import { Updater } from "tuf-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  generateSigningKey,
  initRepository,
  loadRepository,
  metadataDirectory,
  publishRelease,
  readRolloutState,
  refreshRepository,
  rolloutStates,
  rolloutTargetPath,
  rotateRolloutKeys,
  rotateRoot,
  setRolloutState,
  signedTime,
  stageSoak,
  storedTargetPath,
  type Release,
  type RolloutChange,
  type RoleName,
  type Signers,
  type SigningKey,
} from "./index.js";
import { serveDirectory, type StaticServer } from "./test-support/static-server.js";

const DAY = 24 * 60 * 60 * 1000;
let work: string;
let repo: string;
let server: StaticServer;
let keys: Record<RoleName, SigningKey>;
let signers: Signers;

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A built variant on disk: a model file and its external data. */
function variant(name: string, seed: string): { directory: string; identity: { files: { name: string; bytes: number; sha256: string }[]; digest: string } } {
  const directory = join(work, "variants", name);
  mkdirSync(directory, { recursive: true });
  const files = [
    { name: "model.onnx", content: Buffer.from(`onnx graph ${seed}`) },
    { name: "model.onnx.data", content: Buffer.alloc(4096, seed) },
  ].map(({ name: file, content }) => {
    writeFileSync(join(directory, file), content);
    return { name: file, bytes: content.length, sha256: sha256(content) };
  });
  return { directory, identity: { files, digest: sha256(Buffer.from(JSON.stringify(files))) } };
}

function release(version: string, seed = version, outcome: "pass" | "fail" = "pass"): Release {
  const built = variant(`${version}-${seed}`, seed);
  return {
    channel: "stable",
    model: "tiny-llm",
    version,
    sourceCommit: "0123456789abcdef0123456789abcdef01234567",
    manifestDigest: "ab".repeat(32),
    rolloutPlan: { stages: [{ percent: 5, soak: "24h" }, { percent: 25, soak: "24h" }, { percent: 100 }], abort: { "failure-rate": 0.02, "min-devices": 20 } },
    targets: [
      {
        deviceClass: "rpi5",
        variant: "int4",
        ...built,
        verdict: { outcome, figures: { "decode-latency-p90": 38.2, "peak-memory": 402653184 } },
        healthCheck: { input: [1, 2, 3], topTokens: [42, 7], logitFingerprint: "9f86d081", tolerance: 0.001 },
      },
    ],
  };
}

const MODEL = "stable/tiny-llm/1.0.0/rpi5/model.onnx";

beforeEach(async () => {
  work = mkdtempSync(join(tmpdir(), "edge-release-"));
  repo = join(work, "repo");
  keys = { root: generateSigningKey(), targets: generateSigningKey(), snapshot: generateSigningKey(), timestamp: generateSigningKey(), rollout: generateSigningKey() };
  signers = { root: [keys.root], targets: [keys.targets], snapshot: [keys.snapshot], timestamp: [keys.timestamp], rollout: [keys.rollout] };
  await initRepository(repo, {
    roles: { root: { keys: [keys.root] }, targets: { keys: [keys.targets] }, snapshot: { keys: [keys.snapshot] }, timestamp: { keys: [keys.timestamp] }, rollout: { keys: [keys.rollout] } },
    signers,
  });
  server = await serveDirectory(repo);
});

afterEach(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

/** A device: its metadata directory starts with the trusted root only. */
function device(name: string): { metadataDir: string; targetDir: string } {
  const metadataDir = join(work, "devices", name, "metadata");
  const targetDir = join(work, "devices", name, "targets");
  mkdirSync(metadataDir, { recursive: true });
  mkdirSync(targetDir, { recursive: true });
  copyFileSync(join(metadataDirectory(repo), "1.root.json"), join(metadataDir, "root.json"));
  return { metadataDir, targetDir };
}

/** A fresh client process on the device, as the agent runs one per check. */
function updater(dev: { metadataDir: string; targetDir: string }): Updater {
  return new Updater({
    metadataDir: dev.metadataDir,
    targetDir: dev.targetDir,
    metadataBaseUrl: `${server.url}/metadata`,
    targetBaseUrl: `${server.url}/targets`,
    config: { fetchRetries: 0 },
  });
}

function trusted(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((name) => [name, readFileSync(join(dir, name), "utf8")]));
}

async function expectRefusal(dev: { metadataDir: string; targetDir: string }, act: (client: Updater) => Promise<unknown>): Promise<void> {
  const before = trusted(dev.metadataDir);
  await expect(act(updater(dev))).rejects.toThrow();
  expect(trusted(dev.metadataDir)).toEqual(before);
}

describe("a device verifying releases with tuf-js", () => {
  it("downloads and verifies a release's files and reads its signed custom metadata", async () => {
    const published = await publishRelease(repo, release("1.0.0"), { signers });
    expect(published.changed).toBe(true);
    expect(published.paths).toEqual([MODEL, `${MODEL}.data`]);

    const dev = device("a");
    const client = updater(dev);
    await client.refresh();
    const info = await client.getTargetInfo(MODEL);
    expect(info).toBeDefined();
    const file = await client.downloadTarget(info!);
    expect(readFileSync(file)).toEqual(readFileSync(join(work, "variants", "1.0.0-1.0.0", "model.onnx")));
    expect(info!.custom).toMatchObject({
      model: "tiny-llm",
      version: "1.0.0",
      variant: "int4",
      deviceClass: "rpi5",
      sourceCommit: "0123456789abcdef0123456789abcdef01234567",
      manifestDigest: "ab".repeat(32),
      verdict: { outcome: "pass", figures: { "decode-latency-p90": "38.2", "peak-memory": 402653184 } },
      healthCheck: { topTokens: [42, 7], tolerance: "0.001" },
    });
    expect(info!.custom["forced"]).toBeUndefined();
    expect(readdirSync(dev.metadataDir).sort()).toEqual(["root.json", "snapshot.json", "targets.json", "timestamp.json"]);
  });

  it("reads the rollout state the rollout role signed", async () => {
    await publishRelease(repo, release("1.0.0"), { signers });
    const result = await setRolloutState(repo, { channel: "stable", model: "tiny-llm", version: "1.0.0", stage: 1, salt: "5a".repeat(16), halted: false }, {
      signers: { rollout: [keys.rollout], snapshot: [keys.snapshot], timestamp: [keys.timestamp] },
      now: new Date("2030-05-06T07:08:09.750Z"),
    });
    expect(result.changed).toBe(true);
    const info = await updater(device("a")).getTargetInfo(rolloutTargetPath("stable", "tiny-llm"));
    expect(info?.custom["rollout"]).toEqual({ channel: "stable", model: "tiny-llm", version: "1.0.0", stage: 1, salt: "5a".repeat(16), halted: false, stageStartedAt: "2030-05-06T07:08:09Z" });
    expect(readRolloutState(info?.custom["rollout"], "the device's rollout target")).toEqual(info?.custom["rollout"]);
    await expect(
      setRolloutState(repo, { channel: "stable", model: "tiny-llm", version: "1.0.0", stage: 3, salt: "5a".repeat(16), halted: false }, { signers }),
    ).rejects.toThrow(ConfigurationError);
  });

  it("follows a new release and a root rotation that also replaces the timestamp key", async () => {
    await publishRelease(repo, release("1.0.0"), { signers });
    const dev = device("a");
    await updater(dev).refresh();

    await publishRelease(repo, release("1.1.0"), { signers });
    const newRoot = generateSigningKey();
    const newTimestamp = generateSigningKey();
    await rotateRoot(repo, {
      roles: { root: { keys: [newRoot] }, timestamp: { keys: [newTimestamp] } },
      signers: { root: [keys.root, newRoot], snapshot: [keys.snapshot], timestamp: [newTimestamp] },
    });

    const client = updater(dev);
    const info = await client.getTargetInfo("stable/tiny-llm/1.1.0/rpi5/model.onnx");
    expect(info?.custom["version"]).toBe("1.1.0");
    const root = JSON.parse(readFileSync(join(dev.metadataDir, "root.json"), "utf8")) as { signed: { version: number; roles: { timestamp: { keyids: string[] } } } };
    expect(root.signed.version).toBe(2);
    expect(root.signed.roles.timestamp.keyids).toEqual([newTimestamp.keyId]);

    // The old timestamp key no longer counts.
    await expect(refreshRepository(repo, { signers: { snapshot: [keys.snapshot], timestamp: [keys.timestamp] } })).rejects.toThrow(ConfigurationError);
    // Another rotation needs the current root key: the retired one is no longer enough.
    await expect(rotateRoot(repo, { roles: { root: { keys: [generateSigningKey()] } }, signers: { root: [keys.root], snapshot: [keys.snapshot], timestamp: [newTimestamp] } })).rejects.toThrow(
      ConfigurationError,
    );
  });

  it("refuses a model target added by whoever holds only the rollout key and the online keys", async () => {
    await publishRelease(repo, release("1.0.0"), { signers });
    const dev = device("a");
    await updater(dev).refresh();
    const state = await loadRepository(repo);
    const forgedPath = "stable/tiny-llm/6.6.6/rpi5/model.onnx";
    const payload = Buffer.from("evil model");
    const forgedFile = storedTargetPath(repo, forgedPath, sha256(payload));
    mkdirSync(dirname(forgedFile), { recursive: true });
    writeFileSync(forgedFile, payload);
    const entry = { length: payload.length, hashes: { sha256: sha256(payload) } };

    // 1. A top-level targets metadata signed with the rollout key.
    const forgedTargets = new Metadata(
      Targets.fromJSON({ ...state.targets.signed.toJSON(), version: state.targets.signed.version + 1, targets: { ...state.targets.signed.toJSON()["targets"] as object, [forgedPath]: entry } }),
    );
    forgedTargets.sign(keys.rollout.signer);
    // 2. The rollout role's own metadata listing a model path.
    const forgedRollout = new Metadata(
      Targets.fromJSON({ ...state.rollout.signed.toJSON(), version: state.rollout.signed.version + 1, targets: { [forgedPath]: entry } }),
    );
    forgedRollout.sign(keys.rollout.signer);

    let meta = { ...(state.snapshot.signed.toJSON()["meta"] as object) };
    const publishForged = (which: "targets" | "rollout", md: Metadata<Targets>, snapshotVersion: number): void => {
      const bytes = Buffer.from(JSON.stringify(md.toJSON()));
      writeFileSync(join(metadataDirectory(repo), `${md.signed.version}.${which}.json`), bytes);
      meta = { ...meta, [`${which}.json`]: { version: md.signed.version } };
      const snapshot = new Metadata(Snapshot.fromJSON({ ...state.snapshot.signed.toJSON(), version: snapshotVersion, meta }));
      snapshot.sign(keys.snapshot.signer);
      const snapshotBytes = Buffer.from(JSON.stringify(snapshot.toJSON()));
      writeFileSync(join(metadataDirectory(repo), `${snapshotVersion}.snapshot.json`), snapshotBytes);
      const timestamp = new Metadata(
        Timestamp.fromJSON({ ...state.timestamp.signed.toJSON(), version: state.timestamp.signed.version + snapshotVersion, meta: { "snapshot.json": { version: snapshotVersion } } }),
      );
      timestamp.sign(keys.timestamp.signer);
      writeFileSync(join(metadataDirectory(repo), "timestamp.json"), JSON.stringify(timestamp.toJSON()));
    };

    // The rollout role listing a model path: its metadata verifies, but the
    // delegation does not cover model paths, so for the device the model does not exist.
    publishForged("rollout", forgedRollout, state.snapshot.signed.version + 1);
    const client = updater(dev);
    expect(await client.getTargetInfo(forgedPath)).toBeUndefined();
    expect(await client.getTargetInfo(MODEL)).toBeDefined();
    const trustedTargets = readFileSync(join(dev.metadataDir, "targets.json"), "utf8");

    // A top-level targets metadata signed with the rollout key: refused. The
    // snapshot and timestamp naming it are validly signed by the online keys
    // the attacker was given, so the device takes those up; its targets stay.
    publishForged("targets", forgedTargets, state.snapshot.signed.version + 2);
    await expect(updater(dev).getTargetInfo(forgedPath)).rejects.toThrow(/targets/);
    expect(readFileSync(join(dev.metadataDir, "targets.json"), "utf8")).toBe(trustedTargets);
    await expect(updater(dev).getTargetInfo(MODEL)).rejects.toThrow();
  });

  it("refuses a rolled-back timestamp and a rolled-back snapshot", async () => {
    await publishRelease(repo, release("1.0.0"), { signers });
    const timestampFile = join(metadataDirectory(repo), "timestamp.json");
    const oldTimestamp = readFileSync(timestampFile);
    const oldState = await loadRepository(repo);
    await publishRelease(repo, release("1.1.0"), { signers });
    const dev = device("a");
    await updater(dev).refresh();

    writeFileSync(timestampFile, oldTimestamp);
    await expectRefusal(dev, (client) => client.refresh());

    // A newer timestamp, validly signed, naming an older snapshot.
    const current = await (async () => {
      writeFileSync(timestampFile, readFileSync(join(work, "devices", "a", "metadata", "timestamp.json")));
      return loadRepository(repo);
    })();
    const rolledBack = new Metadata(
      Timestamp.fromJSON({
        ...current.timestamp.signed.toJSON(),
        version: current.timestamp.signed.version + 1,
        meta: { "snapshot.json": { version: oldState.snapshot.signed.version } },
      }),
    );
    rolledBack.sign(keys.timestamp.signer);
    writeFileSync(timestampFile, JSON.stringify(rolledBack.toJSON()));
    await expectRefusal(dev, (client) => client.refresh());
  });

  it("refuses an expired timestamp", async () => {
    await publishRelease(repo, release("1.0.0"), { signers });
    const dev = device("a");
    await updater(dev).refresh();
    await refreshRepository(repo, { signers, now: new Date(Date.now() - 3 * DAY) });
    await expectRefusal(dev, (client) => client.refresh());
    expect(Metadata.fromJSON(MetadataKind.Timestamp, JSON.parse(readFileSync(join(metadataDirectory(repo), "timestamp.json"), "utf8"))).signed.isExpired()).toBe(true);
  });

  it("refuses a target file with one byte changed", async () => {
    const published = release("1.0.0");
    await publishRelease(repo, published, { signers });
    const file = published.targets[0]!.identity.files[0]!;
    const stored = storedTargetPath(repo, MODEL, file.sha256);
    const bytes = readFileSync(stored);
    bytes[3] = bytes[3]! ^ 0x01;
    writeFileSync(stored, bytes);
    const dev = device("a");
    const client = updater(dev);
    const info = await client.getTargetInfo(MODEL);
    const before = trusted(dev.metadataDir);
    await expect(client.downloadTarget(info!)).rejects.toThrow();
    expect(trusted(dev.metadataDir)).toEqual(before);
    expect(readdirSync(dev.targetDir)).toEqual([]);
  });
});

describe("version rules", () => {
  it("publishing the identical release again writes nothing", async () => {
    const first = release("1.0.0", "same");
    await publishRelease(repo, first, { signers });
    const before = readdirSync(metadataDirectory(repo)).sort();
    const timestamp = readFileSync(join(metadataDirectory(repo), "timestamp.json"));
    const again = await publishRelease(repo, first, { signers });
    expect(again.changed).toBe(false);
    expect(readdirSync(metadataDirectory(repo)).sort()).toEqual(before);
    expect(readFileSync(join(metadataDirectory(repo), "timestamp.json"))).toEqual(timestamp);
  });

  it("refuses the same version with other content", async () => {
    await publishRelease(repo, release("1.0.0", "a"), { signers });
    await expect(publishRelease(repo, release("1.0.0", "b"), { signers })).rejects.toThrow(/never reused/);
  });

  it("refuses a release whose gate did not pass unless forced, and signs the force", async () => {
    await expect(publishRelease(repo, release("2.0.0", "x", "fail"), { signers })).rejects.toThrow(ConfigurationError);
    await publishRelease(repo, release("2.0.0", "x", "fail"), { signers, force: true });
    const info = await updater(device("a")).getTargetInfo("stable/tiny-llm/2.0.0/rpi5/model.onnx");
    expect(info?.custom["forced"]).toEqual({ deviceClasses: ["rpi5"] });
  });

  it("keeps channels apart and reserves the rollout prefix", async () => {
    await publishRelease(repo, release("1.0.0", "a"), { signers });
    await publishRelease(repo, { ...release("1.0.0", "b"), channel: "beta" }, { signers });
    const client = updater(device("a"));
    expect((await client.getTargetInfo("beta/tiny-llm/1.0.0/rpi5/model.onnx"))?.custom["channel"]).toBe("beta");
    expect((await client.getTargetInfo(MODEL))?.custom["channel"]).toBe("stable");
    await expect(publishRelease(repo, { ...release("1.0.0", "c"), channel: "rollout" }, { signers })).rejects.toThrow(ConfigurationError);
  });

  it("refuses files that differ from the variant's identity, leaving the repository as it was", async () => {
    const bad = release("1.0.0", "a");
    writeFileSync(join(bad.targets[0]!.directory, "model.onnx.data"), Buffer.alloc(4096, "z"));
    const before = readdirSync(metadataDirectory(repo)).sort();
    await expect(publishRelease(repo, bad, { signers })).rejects.toThrow(ConfigurationError);
    expect(readdirSync(metadataDirectory(repo)).sort()).toEqual(before);
  });

  it("a key that is missing or not trusted changes no metadata: everything is signed before anything is written, so the same change with the right key then succeeds", async () => {
    await publishRelease(repo, release("1.0.0"), { signers });
    const listing = () => readdirSync(metadataDirectory(repo)).sort();
    const before = listing();
    const timestamp = readFileSync(join(metadataDirectory(repo), "timestamp.json"));
    const rollout = { channel: "stable", model: "tiny-llm", version: "1.0.0", stage: 0, salt: "5a".repeat(16), halted: false };
    // The rollout and snapshot sign, the timestamp does not.
    await expect(setRolloutState(repo, rollout, { signers: { ...signers, timestamp: [keys.snapshot] } })).rejects.toThrow(/signing the timestamp metadata/);
    await expect(refreshRepository(repo, { signers: { snapshot: [keys.snapshot] } })).rejects.toThrow(/signing the timestamp metadata/);
    await expect(rotateRoot(repo, { roles: { snapshot: { keys: [generateSigningKey()] } }, signers })).rejects.toThrow(/signing the snapshot metadata/);
    const newRollout = generateSigningKey();
    await expect(rotateRolloutKeys(repo, { rollout: { keys: [newRollout] }, signers: { ...signers, rollout: [newRollout], snapshot: [] } })).rejects.toThrow(/signing the snapshot metadata/);
    expect(listing()).toEqual(before);
    expect(readFileSync(join(metadataDirectory(repo), "timestamp.json"))).toEqual(timestamp);
    expect((await setRolloutState(repo, rollout, { signers })).changed).toBe(true);
  });

  it("refuses to publish without the targets key", async () => {
    await expect(publishRelease(repo, release("1.0.0"), { signers: { ...signers, targets: [keys.rollout] } })).rejects.toThrow(/needs 1 of its 1 trusted key/);
  });
});

describe("the rollout state's signed times", () => {
  const HOUR = 60 * 60 * 1000;
  const t0 = new Date("2030-01-01T00:00:00.400Z");
  const at = (hours: number): Date => new Date(t0.getTime() + hours * HOUR);
  const base: RolloutChange = { channel: "stable", model: "tiny-llm", version: "1.0.0", stage: 0, salt: "5a".repeat(16), halted: false };
  const set = async (change: Partial<RolloutChange>, now: Date, expiry?: { rollout: number }) =>
    setRolloutState(repo, { ...base, ...change }, { signers: { rollout: [keys.rollout], snapshot: [keys.snapshot], timestamp: [keys.timestamp] }, now, ...(expiry ? { expiry } : {}) });
  const current = async () => {
    const states = rolloutStates(await loadRepository(repo));
    expect(states).toHaveLength(1);
    return states[0]!;
  };

  it("stageStartedAt is set when the version or the stage changes, kept when only halted changes or nothing does; haltedAt marks the halt", async () => {
    await publishRelease(repo, release("1.0.0"), { signers });
    await publishRelease(repo, release("1.1.0"), { signers });

    expect((await set({}, at(0))).changed).toBe(true);
    expect(await current()).toMatchObject({ stage: 0, halted: false, stageStartedAt: "2030-01-01T00:00:00Z" });
    expect((await current()).haltedAt).toBeUndefined();
    // The same state later: nothing written, the start kept.
    expect((await set({}, at(5))).changed).toBe(false);
    expect((await current()).stageStartedAt).toBe("2030-01-01T00:00:00Z");
    // A caller's own times are not taken: the writer's clock sets them.
    expect((await set({ ...({ stageStartedAt: "2020-01-01T00:00:00Z" } as object) }, at(5))).changed).toBe(false);

    await set({ stage: 1 }, at(30));
    expect((await current()).stageStartedAt).toBe("2030-01-02T06:00:00Z");
    // A halt alone does not restart the soak; it is dated.
    await set({ stage: 1, halted: true }, at(31));
    expect(await current()).toMatchObject({ stage: 1, halted: true, stageStartedAt: "2030-01-02T06:00:00Z", haltedAt: "2030-01-02T07:00:00Z" });
    expect((await set({ stage: 1, halted: true }, at(40))).changed).toBe(false);
    expect((await current()).haltedAt).toBe("2030-01-02T07:00:00Z");
    // Lifted: no haltedAt; the stage's start still kept.
    await set({ stage: 1 }, at(41));
    expect(await current()).toMatchObject({ halted: false, stageStartedAt: "2030-01-02T06:00:00Z" });
    expect((await current()).haltedAt).toBeUndefined();
    // Another version starts its own stage, with a rollout expiry that is not the default.
    await set({ version: "1.1.0" }, at(50), { rollout: 2 * DAY });
    const state = await loadRepository(repo);
    expect(state.rollout.signed.expires).toBe("2030-01-05T02:00:00Z");
    expect((await current()).stageStartedAt).toBe("2030-01-03T02:00:00Z");

    // A device reads the same signed times through the delegation.
    const info = await updater(device("a")).getTargetInfo(rolloutTargetPath("stable", "tiny-llm"));
    expect(readRolloutState(info?.custom["rollout"], "device")).toEqual(await current());
  });

  it("a stage's soak counts from its signed start: time left before it is over, none after, refused from the future", async () => {
    await publishRelease(repo, release("1.0.0"), { signers });
    await set({ stage: 1 }, at(0));
    const rollout = await current();
    const soak = 24 * HOUR;
    const early = stageSoak(rollout, soak, at(23.5));
    expect(early.startedAt.toISOString()).toBe("2030-01-01T00:00:00.000Z");
    expect(early.endsAt.toISOString()).toBe("2030-01-02T00:00:00.000Z");
    // t0 had 0.4 s that the signed time drops: the soak counts from the whole second before.
    expect(early.remainingMs).toBe(0.5 * HOUR - 400);
    expect(stageSoak(rollout, soak, at(24)).remainingMs).toBe(0);
    expect(stageSoak(rollout, soak, at(100)).remainingMs).toBe(0);
    expect(stageSoak(rollout, 0, at(0)).remainingMs).toBe(0);
    expect(rollout.stageStartedAt).toBe(signedTime(t0));
    // A start later than the clock: not counted, whatever the soak.
    expect(() => stageSoak(rollout, 0, new Date(t0.getTime() - 1000))).toThrow(ConfigurationError);
    expect(() => stageSoak(rollout, 0, new Date(t0.getTime() - 1000))).toThrow(/began at 2030-01-01T00:00:00Z .* later than this machine's clock \(2029-12-31T23:59:59Z\); its soak is not counted from the future/);
  });

  it("a malformed or incomplete signed state is refused whole", () => {
    const good = { channel: "stable", model: "tiny-llm", version: "1.0.0", stage: 1, salt: "5a".repeat(16), halted: false, stageStartedAt: "2030-01-01T00:00:00Z" };
    expect(readRolloutState({ ...good, later: "a field of a newer writer" }, "x")).toEqual(good);
    expect(readRolloutState({ ...good, halted: true, haltedAt: "2030-01-01T01:00:00Z" }, "x")).toEqual({ ...good, halted: true, haltedAt: "2030-01-01T01:00:00Z" });
    const { stageStartedAt: _dropped, ...withoutStart } = good;
    const bad: [unknown, RegExp][] = [
      [withoutStart, /stageStartedAt is not an ISO 8601 UTC time/],
      [{ ...good, stageStartedAt: "2030-02-30T00:00:00Z" }, /stageStartedAt/],
      [{ ...good, stageStartedAt: "2030-01-01T00:00:00.000Z" }, /stageStartedAt/],
      [{ ...good, stageStartedAt: "2030-01-01T01:00:00+01:00" }, /stageStartedAt/],
      [{ ...good, stageStartedAt: "2030-01-01 00:00:00Z" }, /stageStartedAt/],
      [{ ...good, stageStartedAt: 1893456000 }, /stageStartedAt/],
      [{ ...good, halted: true }, /halted but no haltedAt/],
      [{ ...good, haltedAt: "2030-01-01T01:00:00Z" }, /haltedAt but not halted/],
      [{ ...good, halted: true, haltedAt: "yesterday" }, /haltedAt is not/],
      [{ ...good, stage: -1 }, /stage/],
      [{ ...good, stage: 1.5 }, /stage/],
      [{ ...good, salt: "5A".repeat(16) }, /salt/],
      [{ ...good, halted: "false" }, /halted is not true or false/],
      [{ ...good, channel: "rollout" }, /channel/],
      [{ ...good, version: "v1" }, /version/],
      [[good], /not an object/],
      [null, /not an object/],
    ];
    for (const [value, reason] of bad) {
      expect(() => readRolloutState(value, "rollout target rollout/stable/tiny-llm.json"), JSON.stringify(value)).toThrow(ConfigurationError);
      expect(() => readRolloutState(value, "rollout target rollout/stable/tiny-llm.json"), JSON.stringify(value)).toThrow(reason);
    }
    expect(() => readRolloutState(withoutStart, "rollout target rollout/stable/tiny-llm.json")).toThrow(/^rollout target rollout\/stable\/tiny-llm\.json: the signed rollout state is malformed/);
  });
});

describe("rotating the rollout role's key", () => {
  it("a device follows the new delegation; rollout metadata signed by the old key alone is refused", async () => {
    await publishRelease(repo, release("1.0.0"), { signers });
    await setRolloutState(repo, { channel: "stable", model: "tiny-llm", version: "1.0.0", stage: 1, salt: "5a".repeat(16), halted: false }, { signers });
    const dev = device("a");
    const path = rolloutTargetPath("stable", "tiny-llm");
    const before = (await updater(dev).getTargetInfo(path))?.custom["rollout"];
    expect(before).toMatchObject({ stage: 1 });

    const newRollout = generateSigningKey();
    const rotated = await rotateRolloutKeys(repo, { rollout: { keys: [newRollout] }, signers: { targets: [keys.targets], rollout: [newRollout], snapshot: [keys.snapshot], timestamp: [keys.timestamp] } });
    // The delegation names the new key only; root is unchanged.
    expect(rotated.targets.signed.delegations?.roles?.["rollout"]?.keyIDs).toEqual([newRollout.keyId]);
    expect(Object.keys(rotated.targets.signed.delegations?.keys ?? {})).toEqual([newRollout.keyId]);
    expect(rotated.root.signed.version).toBe(1);
    expect(Object.keys(rotated.rollout.signatures)).toEqual([newRollout.keyId]);
    // The device follows: the state, unchanged, now verified under the new key.
    expect((await updater(dev).getTargetInfo(path))?.custom["rollout"]).toEqual(before);
    expect(JSON.parse(readFileSync(join(dev.metadataDir, "rollout.json"), "utf8")).signed.version).toBe(rotated.rollout.signed.version);

    // The old key cannot sign the rollout state any more, through edge-release …
    await expect(setRolloutState(repo, { channel: "stable", model: "tiny-llm", version: "1.0.0", stage: 2, salt: "5a".repeat(16), halted: false }, { signers })).rejects.toThrow(ConfigurationError);
    // … nor by hand: a device refuses rollout metadata signed with it alone,
    // behind a validly signed snapshot and timestamp.
    const forged = new Metadata(
      Targets.fromJSON({ ...rotated.rollout.signed.toJSON(), version: rotated.rollout.signed.version + 1 }),
    );
    forged.sign(keys.rollout.signer);
    writeFileSync(join(metadataDirectory(repo), `${forged.signed.version}.rollout.json`), JSON.stringify(forged.toJSON()));
    const snapshot = new Metadata(
      Snapshot.fromJSON({ ...rotated.snapshot.signed.toJSON(), version: rotated.snapshot.signed.version + 1, meta: { ...(rotated.snapshot.signed.toJSON()["meta"] as object), "rollout.json": { version: forged.signed.version } } }),
    );
    snapshot.sign(keys.snapshot.signer);
    writeFileSync(join(metadataDirectory(repo), `${snapshot.signed.version}.snapshot.json`), JSON.stringify(snapshot.toJSON()));
    const timestamp = new Metadata(
      Timestamp.fromJSON({ ...rotated.timestamp.signed.toJSON(), version: rotated.timestamp.signed.version + 1, meta: { "snapshot.json": { version: snapshot.signed.version } } }),
    );
    timestamp.sign(keys.timestamp.signer);
    writeFileSync(join(metadataDirectory(repo), "timestamp.json"), JSON.stringify(timestamp.toJSON()));
    const trustedRollout = readFileSync(join(dev.metadataDir, "rollout.json"), "utf8");
    await expect(updater(dev).getTargetInfo(path)).rejects.toThrow(/rollout/);
    expect(readFileSync(join(dev.metadataDir, "rollout.json"), "utf8")).toBe(trustedRollout);
    // A device that trusted only root v1 refuses it too.
    await expect(updater(device("b")).getTargetInfo(path)).rejects.toThrow(/rollout/);
  });

  it("needs the targets key: the rollout key cannot re-delegate to itself", async () => {
    const newRollout = generateSigningKey();
    await expect(rotateRolloutKeys(repo, { rollout: { keys: [newRollout] }, signers: { ...signers, targets: [keys.rollout] } })).rejects.toThrow(/signing the targets metadata needs 1 of its 1 trusted key/);
    expect((await loadRepository(repo)).targets.signed.delegations?.roles?.["rollout"]?.keyIDs).toEqual([keys.rollout.keyId]);
  });
});
