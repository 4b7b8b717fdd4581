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
  refreshRepository,
  rolloutTargetPath,
  rotateRoot,
  setRolloutState,
  storedTargetPath,
  type Release,
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
    });
    expect(result.changed).toBe(true);
    const info = await updater(device("a")).getTargetInfo(rolloutTargetPath("stable", "tiny-llm"));
    expect(info?.custom["rollout"]).toEqual({ channel: "stable", model: "tiny-llm", version: "1.0.0", stage: 1, salt: "5a".repeat(16), halted: false });
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

  it("refuses to publish without the targets key", async () => {
    await expect(publishRelease(repo, release("1.0.0"), { signers: { ...signers, targets: [keys.rollout] } })).rejects.toThrow(/needs 1 of its 1 trusted key/);
  });
});
