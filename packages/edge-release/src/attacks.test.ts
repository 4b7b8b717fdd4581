/**
 * Attacks on a device's updates, each run with tuf-js's `Updater` against
 * the repository served over loopback HTTP. Each case names the attack; a
 * refused attack leaves the device's trusted metadata as it was, except
 * metadata ahead of the attacked role that is validly signed (an attacker
 * holding the online keys signs a timestamp the device must take up, as the
 * TUF specification's client workflow persists it before the next step).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Metadata, Root, Signature, Snapshot, Targets, Timestamp } from "@tufjs/models";
import type { Updater } from "tuf-js";
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
  type RepositoryState,
  type SigningKey,
} from "./index.js";
import { serveDirectory } from "./test-support/static-server.js";
import { createFixture, DAY, MODEL, sha256, trustedMetadata, type Device, type Fixture } from "./test-support/fixtures.js";

let fx: Fixture;
beforeEach(async () => {
  fx = await createFixture();
});
afterEach(async () => {
  await fx.close();
});

type AnyMetadata = Metadata<Root | Targets | Snapshot | Timestamp>;
type Json = Parameters<typeof Targets.fromJSON>[0];

function metadataFile(name: string, dir = fx.repo): string {
  return join(metadataDirectory(dir), name);
}

function write(name: string, metadata: AnyMetadata | Json, dir = fx.repo): Buffer {
  const bytes = Buffer.from(JSON.stringify(metadata instanceof Metadata ? metadata.toJSON() : metadata));
  writeFileSync(metadataFile(name, dir), bytes);
  return bytes;
}

function signed<T extends AnyMetadata>(metadata: T, ...keys: SigningKey[]): T {
  metadata.signatures = {};
  for (const key of keys) metadata.sign(key.signer, true);
  return metadata;
}

/** A timestamp one version on, naming `snapshot` (version, and length and hash when given). */
function nextTimestamp(state: RepositoryState, snapshot: { version: number; bytes?: Buffer; sha256?: string }, key = fx.keys.timestamp, version = state.timestamp.signed.version + 1): Metadata<Timestamp> {
  const meta: Json = { version: snapshot.version };
  if (snapshot.bytes) Object.assign(meta, { length: snapshot.bytes.length, hashes: { sha256: snapshot.sha256 ?? sha256(snapshot.bytes) } });
  return signed(new Metadata(Timestamp.fromJSON({ ...state.timestamp.signed.toJSON(), version, meta: { "snapshot.json": meta } })), key);
}

/** A snapshot one version on with `changes` to its meta, written, and a timestamp naming it. */
function forgeSnapshot(state: RepositoryState, changes: Json, version = state.snapshot.signed.version + 1): void {
  const meta = { ...(state.snapshot.signed.toJSON()["meta"] as Json), ...changes };
  const snapshot = signed(new Metadata(Snapshot.fromJSON({ ...state.snapshot.signed.toJSON(), version, meta })), fx.keys.snapshot);
  const bytes = write(`${version}.snapshot.json`, snapshot);
  write("timestamp.json", nextTimestamp(state, { version, bytes }));
}

/**
 * Runs `act` on a fresh client and expects a refusal (matching `error`);
 * the device's trusted metadata is unchanged except `takenUp`, the validly
 * signed files ahead of the attacked role.
 */
async function expectRefusal(dev: Device, error: RegExp, act: (client: Updater) => Promise<unknown>, takenUp: readonly string[] = [], client = fx.updater(dev)): Promise<void> {
  const before = trustedMetadata(dev);
  await expect(act(client)).rejects.toThrow(error);
  const after = trustedMetadata(dev);
  for (const name of takenUp) {
    delete before[name];
    delete after[name];
  }
  expect(after).toEqual(before);
}

/** A device that took up release 1.0.0. */
async function updatedDevice(name = "a"): Promise<Device> {
  await publishRelease(fx.repo, fx.release("1.0.0"), { signers: fx.signers });
  const dev = fx.device(name);
  await fx.updater(dev).refresh();
  return dev;
}

const backdated = (days: number): Date => new Date(Date.now() - days * DAY);

describe("expired metadata (freeze attacks)", () => {
  it("refuses an expired timestamp", async () => {
    const dev = await updatedDevice();
    await refreshRepository(fx.repo, { signers: fx.signers, now: backdated(2) });
    await expectRefusal(dev, /expired/i, (client) => client.refresh());
  });

  it("refuses an expired snapshot behind a fresh timestamp", async () => {
    const dev = await updatedDevice();
    await refreshRepository(fx.repo, { signers: fx.signers, now: backdated(2), expiry: { snapshot: DAY, timestamp: 10 * DAY } });
    await expectRefusal(dev, /snapshot.*expired|expired.*snapshot/i, (client) => client.refresh(), ["timestamp.json"]);
  });

  it("refuses expired targets behind a fresh snapshot and timestamp", async () => {
    const dev = await updatedDevice();
    await publishRelease(fx.repo, fx.release("1.1.0"), { signers: fx.signers, now: backdated(2), expiry: { targets: DAY, timestamp: 10 * DAY } });
    await expectRefusal(dev, /targets.*expired|expired.*targets/i, (client) => client.refresh(), ["timestamp.json", "snapshot.json"]);
  });

  it("refuses expired rollout metadata when the device looks up a rollout state", async () => {
    const dev = await updatedDevice();
    await setRolloutState(fx.repo, { channel: "stable", model: "tiny-llm", version: "1.0.0", stage: 0, salt: "5a".repeat(16), halted: false }, {
      signers: fx.signers,
      now: backdated(2),
      expiry: { rollout: DAY, timestamp: 10 * DAY },
    });
    const client = fx.updater(dev);
    await client.refresh(); // the fresh timestamp and snapshot are valid
    await expectRefusal(dev, /rollout.*expired|expired.*rollout/i, (c) => c.getTargetInfo(rolloutTargetPath("stable", "tiny-llm")), [], client);
  });

  it("refuses an expired root; the root itself is persisted before its expiry is checked, as the spec's 5.3.8 and 5.3.10 order it", async () => {
    const dev = await updatedDevice();
    const root2 = generateSigningKey();
    await rotateRoot(fx.repo, { roles: { root: { keys: [root2] } }, signers: { ...fx.signers, root: [fx.keys.root, root2] }, now: backdated(400) });
    await expectRefusal(dev, /expired/i, (client) => client.refresh(), ["root.json"]);
    expect((JSON.parse(readFileSync(join(dev.metadataDir, "root.json"), "utf8")) as { signed: { version: number } }).signed.version).toBe(2);
  });
});

describe("rolled-back metadata", () => {
  it("refuses a rolled-back timestamp", async () => {
    await publishRelease(fx.repo, fx.release("1.0.0"), { signers: fx.signers });
    const old = readFileSync(metadataFile("timestamp.json"));
    await publishRelease(fx.repo, fx.release("1.1.0"), { signers: fx.signers });
    const dev = fx.device("a");
    await fx.updater(dev).refresh();
    writeFileSync(metadataFile("timestamp.json"), old);
    await expectRefusal(dev, /version/i, (client) => client.refresh());
  });

  it("refuses a rolled-back snapshot (a new timestamp naming an older snapshot)", async () => {
    await publishRelease(fx.repo, fx.release("1.0.0"), { signers: fx.signers });
    const old = await loadRepository(fx.repo);
    await publishRelease(fx.repo, fx.release("1.1.0"), { signers: fx.signers });
    const dev = fx.device("a");
    await fx.updater(dev).refresh();
    const state = await loadRepository(fx.repo);
    write("timestamp.json", nextTimestamp(state, { version: old.snapshot.signed.version }));
    await expectRefusal(dev, /version/i, (client) => client.refresh());
  });

  it("refuses rolled-back targets (a new snapshot naming an older targets version)", async () => {
    await publishRelease(fx.repo, fx.release("1.0.0"), { signers: fx.signers });
    const old = await loadRepository(fx.repo);
    await publishRelease(fx.repo, fx.release("1.1.0"), { signers: fx.signers });
    const dev = fx.device("a");
    await fx.updater(dev).refresh();
    forgeSnapshot(await loadRepository(fx.repo), { "targets.json": { version: old.targets.signed.version } });
    await expectRefusal(dev, /version/i, (client) => client.refresh(), ["timestamp.json"]);
  });

  it("refuses rolled-back rollout metadata (a new snapshot naming an older rollout version)", async () => {
    const dev = await updatedDevice();
    const old = await loadRepository(fx.repo);
    await setRolloutState(fx.repo, { channel: "stable", model: "tiny-llm", version: "1.0.0", stage: 0, salt: "5a".repeat(16), halted: false }, { signers: fx.signers });
    await setRolloutState(fx.repo, { channel: "stable", model: "tiny-llm", version: "1.0.0", stage: 0, salt: "5a".repeat(16), halted: true }, { signers: fx.signers });
    await fx.updater(dev).getTargetInfo(rolloutTargetPath("stable", "tiny-llm"));
    forgeSnapshot(await loadRepository(fx.repo), { "rollout.json": { version: old.rollout.signed.version } });
    await expectRefusal(dev, /version/i, (client) => client.refresh(), ["timestamp.json"]);
  });

  it("refuses a rolled-back root (an older root served as the next version)", async () => {
    const dev = await updatedDevice();
    const root2 = generateSigningKey();
    await rotateRoot(fx.repo, { roles: { root: { keys: [root2] } }, signers: { ...fx.signers, root: [fx.keys.root, root2] } });
    await fx.updater(dev).refresh();
    writeFileSync(metadataFile("3.root.json"), readFileSync(metadataFile("1.root.json")));
    await expectRefusal(dev, /signed by \d+\/\d+ keys/, (client) => client.refresh());
  });
});

describe("version and hash mismatches", () => {
  it("refuses a snapshot whose hash is not the timestamp's", async () => {
    const dev = await updatedDevice();
    const state = await refreshRepository(fx.repo, { signers: fx.signers });
    const bytes = readFileSync(metadataFile(`${state.snapshot.signed.version}.snapshot.json`));
    write("timestamp.json", nextTimestamp(state, { version: state.snapshot.signed.version, bytes, sha256: "00".repeat(32) }));
    await expectRefusal(dev, /hash|digest/i, (client) => client.refresh(), ["timestamp.json"]);
  });

  it("refuses a snapshot whose version is not the timestamp's", async () => {
    const dev = await updatedDevice();
    const state = await loadRepository(fx.repo);
    const next = state.snapshot.signed.version + 1;
    // The file the timestamp names holds a snapshot of another version.
    write(`${next}.snapshot.json`, signed(new Metadata(Snapshot.fromJSON({ ...state.snapshot.signed.toJSON(), version: next + 1 })), fx.keys.snapshot));
    write("timestamp.json", nextTimestamp(state, { version: next }));
    await expectRefusal(dev, /version/i, (client) => client.refresh(), ["timestamp.json"]);
  });

  it("refuses targets whose version is not the snapshot's", async () => {
    const dev = await updatedDevice();
    const state = await loadRepository(fx.repo);
    const next = state.targets.signed.version + 1;
    // The file the snapshot names holds the current targets, validly signed, of the previous version.
    writeFileSync(metadataFile(`${next}.targets.json`), readFileSync(metadataFile(`${state.targets.signed.version}.targets.json`)));
    forgeSnapshot(state, { "targets.json": { version: next } });
    await expectRefusal(dev, /version/i, (client) => client.refresh(), ["timestamp.json", "snapshot.json"]);
  });
});

describe("tampered target files", () => {
  async function tampered(change: (bytes: Buffer) => Buffer): Promise<void> {
    const release = fx.release("1.0.0");
    await publishRelease(fx.repo, release, { signers: fx.signers });
    const stored = storedTargetPath(fx.repo, MODEL, release.targets[0]!.identity.files[0]!.sha256);
    writeFileSync(stored, change(readFileSync(stored)));
    const dev = fx.device("a");
    const client = fx.updater(dev);
    const info = await client.getTargetInfo(MODEL);
    await expectRefusal(dev, /hash|length|digest/i, (c) => c.downloadTarget(info!), [], client);
  }

  it("refuses a target whose bytes differ by one", async () => {
    await tampered((bytes) => {
      bytes[3] = bytes[3]! ^ 0x01;
      return bytes;
    });
  });

  it("refuses a target one byte longer", async () => {
    await tampered((bytes) => Buffer.concat([bytes, Buffer.from("x")]));
  });
});

/** A server that answers like the repository's, except for `endless`, whose body never ends. */
async function endlessServer(endless: string): Promise<{ url: string; sent: () => number; close(): Promise<void> }> {
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024, "a");
  const server: Server = createServer((request, response) => {
    if (request.url !== endless) {
      fetch(`${fx.server.url}${request.url ?? "/"}`).then(
        async (upstream) => response.writeHead(upstream.status).end(Buffer.from(await upstream.arrayBuffer())),
        () => response.writeHead(502).end(),
      );
      return;
    }
    response.writeHead(200, { "content-type": "application/octet-stream" });
    let open = true;
    response.on("close", () => {
      open = false;
    });
    const pump = (): void => {
      while (open) {
        sent += chunk.length;
        if (!response.write(chunk)) {
          response.once("drain", pump);
          return;
        }
      }
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sent: () => sent,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("endless data (an endless-data attack)", () => {
  it("stops reading a target that streams forever at the target's length", async () => {
    const release = fx.release("1.0.0");
    await publishRelease(fx.repo, release, { signers: fx.signers });
    const sha = release.targets[0]!.identity.files[0]!.sha256;
    const endless = await endlessServer(`/targets/stable/tiny-llm/1.0.0/rpi5/${sha}.model.onnx`);
    try {
      const dev = fx.device("a");
      const client = fx.updater(dev, endless.url);
      const info = await client.getTargetInfo(MODEL);
      await expectRefusal(dev, /length|exceed/i, (c) => c.downloadTarget(info!), [], client);
    } finally {
      await endless.close();
    }
  });

  it("stops reading a timestamp that streams forever at the timestamp's limit", async () => {
    const dev = await updatedDevice();
    const endless = await endlessServer("/metadata/timestamp.json");
    try {
      await expectRefusal(dev, /length|exceed/i, (client) => client.refresh(), [], fx.updater(dev, endless.url));
    } finally {
      await endless.close();
    }
  });
});

describe("signatures and thresholds", () => {
  /** A repository whose root needs 2 of 2 root keys. */
  async function thresholdTwo(): Promise<{ repo: string; device: Device; url: string; close(): Promise<void>; root: [SigningKey, SigningKey] }> {
    const repo = join(fx.work, "repo2");
    const root: [SigningKey, SigningKey] = [generateSigningKey(), generateSigningKey()];
    await initRepository(repo, {
      roles: { root: { keys: root, threshold: 2 }, targets: { keys: [fx.keys.targets] }, snapshot: { keys: [fx.keys.snapshot] }, timestamp: { keys: [fx.keys.timestamp] }, rollout: { keys: [fx.keys.rollout] } },
      signers: { ...fx.signers, root },
    });
    const server = await serveDirectory(repo);
    const metadataDir = join(fx.work, "devices", "t2", "metadata");
    const targetDir = join(fx.work, "devices", "t2", "targets");
    mkdirSync(metadataDir, { recursive: true });
    mkdirSync(targetDir, { recursive: true });
    writeFileSync(join(metadataDir, "root.json"), readFileSync(metadataFile("1.root.json", repo)));
    return { repo, device: { metadataDir, targetDir }, url: server.url, close: () => server.close(), root };
  }

  it("refuses a root whose threshold of 2 is met by one signature given twice", async () => {
    const t = await thresholdTwo();
    try {
      const state = await loadRepository(t.repo);
      const next = new Metadata(Root.fromJSON({ ...state.root.signed.toJSON(), version: 2 }));
      signed(next, t.root[0]);
      const json = next.toJSON() as { signatures: unknown[] };
      json.signatures = [json.signatures[0], json.signatures[0]];
      writeFileSync(metadataFile("2.root.json", t.repo), JSON.stringify(json));
      await expectRefusal(t.device, /signature|threshold|duplicate/i, (client) => client.refresh(), [], fx.updater(t.device, t.url));
    } finally {
      await t.close();
    }
  });

  it("refuses a root whose threshold of 2 is met by one key's signature presented under the other key's id", async () => {
    const t = await thresholdTwo();
    try {
      const state = await loadRepository(t.repo);
      const next = signed(new Metadata(Root.fromJSON({ ...state.root.signed.toJSON(), version: 2 })), t.root[0]);
      const sig = next.signatures[t.root[0].keyId]!.sig;
      next.signatures[t.root[1].keyId] = new Signature({ keyID: t.root[1].keyId, sig });
      write("2.root.json", next, t.repo);
      await expectRefusal(t.device, /signed by \d+\/\d+ keys/, (client) => client.refresh(), [], fx.updater(t.device, t.url));
    } finally {
      await t.close();
    }
  });

  it("refuses metadata signed by a key not in root", async () => {
    const dev = await updatedDevice();
    const state = await refreshRepository(fx.repo, { signers: fx.signers });
    write("timestamp.json", nextTimestamp(state, { version: state.snapshot.signed.version }, generateSigningKey()));
    await expectRefusal(dev, /signed by \d+\/\d+ keys/, (client) => client.refresh());
  });

  it("refuses unsigned metadata", async () => {
    const dev = await updatedDevice();
    const state = await loadRepository(fx.repo);
    const unsigned = nextTimestamp(state, { version: state.snapshot.signed.version });
    unsigned.signatures = {};
    write("timestamp.json", unsigned);
    await expectRefusal(dev, /signed by \d+\/\d+ keys/, (client) => client.refresh());
  });

  it("refuses metadata of another role's type: a snapshot served as the timestamp, a targets served as the snapshot", async () => {
    const dev = await updatedDevice();
    const state = await loadRepository(fx.repo);
    const original = readFileSync(metadataFile("timestamp.json"));
    writeFileSync(metadataFile("timestamp.json"), readFileSync(metadataFile(`${state.snapshot.signed.version}.snapshot.json`)));
    await expectRefusal(dev, /type|timestamp/i, (client) => client.refresh());

    writeFileSync(metadataFile("timestamp.json"), original);
    const next = state.snapshot.signed.version + 1;
    const targetsAsSnapshot = signed(new Metadata(Targets.fromJSON({ ...state.targets.signed.toJSON(), version: next })), fx.keys.snapshot);
    write(`${next}.snapshot.json`, targetsAsSnapshot);
    write("timestamp.json", nextTimestamp(state, { version: next }));
    await expectRefusal(dev, /type|snapshot/i, (client) => client.refresh(), ["timestamp.json"]);
  });
});

describe("root rotation", () => {
  it("follows a chain of roots 1 → 2 → 3, each changing the root and timestamp keys", async () => {
    const dev = await updatedDevice();
    const [root2, root3, timestamp2, timestamp3] = [generateSigningKey(), generateSigningKey(), generateSigningKey(), generateSigningKey()];
    await rotateRoot(fx.repo, { roles: { root: { keys: [root2] }, timestamp: { keys: [timestamp2] } }, signers: { ...fx.signers, root: [fx.keys.root, root2], timestamp: [timestamp2] } });
    await rotateRoot(fx.repo, { roles: { root: { keys: [root3] }, timestamp: { keys: [timestamp3] } }, signers: { ...fx.signers, root: [root2, root3], timestamp: [timestamp3] } });
    await publishRelease(fx.repo, fx.release("1.1.0"), { signers: { ...fx.signers, timestamp: [timestamp3] } });
    const info = await fx.updater(dev).getTargetInfo("stable/tiny-llm/1.1.0/rpi5/model.onnx");
    expect(info?.custom["version"]).toBe("1.1.0");
    const root = JSON.parse(readFileSync(join(dev.metadataDir, "root.json"), "utf8")) as { signed: { version: number; roles: { root: { keyids: string[] } } } };
    expect(root.signed.version).toBe(3);
    expect(root.signed.roles.root.keyids).toEqual([root3.keyId]);
  });

  it("refuses root 3 signed only by root 1's key, skipping root 2's", async () => {
    const dev = await updatedDevice();
    const root2 = generateSigningKey();
    await rotateRoot(fx.repo, { roles: { root: { keys: [root2] } }, signers: { ...fx.signers, root: [fx.keys.root, root2] } });
    await fx.updater(dev).refresh();
    const state = await loadRepository(fx.repo);
    write("3.root.json", signed(new Metadata(Root.fromJSON({ ...state.root.signed.toJSON(), version: 3 })), fx.keys.root));
    await expectRefusal(dev, /signed by \d+\/\d+ keys/, (client) => client.refresh());
  });

  // Fast-forward attack: with the stolen timestamp and snapshot keys, the
  // attacker pushes their versions very high; the repository then rotates
  // those keys. The TUF specification (5.3.11) has the client delete its
  // trusted timestamp and snapshot when their keys change in a new root, so
  // that it takes up the repository's real, lower versions.
  // tuf-js does not delete them as such, but reloading its trusted
  // timestamp and snapshot under the new root fails their signature check
  // (the keys changed), so it starts from none and takes up the real ones.
  it("recovers from a fast-forward attack once the timestamp and snapshot keys are rotated (spec 5.3.11)", async () => {
    const dev = await updatedDevice();
    const legitimate = readFileSync(metadataFile("timestamp.json"));
    const state = await loadRepository(fx.repo);
    const high = 1_000_000;
    const snapshot = signed(new Metadata(Snapshot.fromJSON({ ...state.snapshot.signed.toJSON(), version: high })), fx.keys.snapshot);
    const bytes = write(`${high}.snapshot.json`, snapshot);
    write("timestamp.json", nextTimestamp(state, { version: high, bytes }, fx.keys.timestamp, high));
    await fx.updater(dev).refresh();
    const versionOf = (name: string): number => (JSON.parse(readFileSync(join(dev.metadataDir, name), "utf8")) as { signed: { version: number } }).signed.version;
    expect(versionOf("timestamp.json")).toBe(high);

    // Before the rotation, the real timestamp looks like a rollback.
    writeFileSync(metadataFile("timestamp.json"), legitimate);
    await expectRefusal(dev, /version/i, (client) => client.refresh());

    // The operators rotate the compromised keys.
    const [snapshot2, timestamp2] = [generateSigningKey(), generateSigningKey()];
    await rotateRoot(fx.repo, {
      roles: { snapshot: { keys: [snapshot2] }, timestamp: { keys: [timestamp2] } },
      signers: { ...fx.signers, snapshot: [snapshot2], timestamp: [timestamp2] },
    });
    await publishRelease(fx.repo, fx.release("1.1.0"), { signers: { ...fx.signers, snapshot: [snapshot2], timestamp: [timestamp2] } });
    const info = await fx.updater(dev).getTargetInfo("stable/tiny-llm/1.1.0/rpi5/model.onnx");
    expect(info?.custom["version"]).toBe("1.1.0");
    expect(versionOf("root.json")).toBe(2);
    expect(versionOf("timestamp.json")).toBeLessThan(high);
    expect(versionOf("snapshot.json")).toBeLessThan(high);
  });
});

describe("a stolen rollout key (with the online snapshot and timestamp keys)", () => {
  function forgedRollout(state: RepositoryState, path: string, payload: Buffer): void {
    const file = storedTargetPath(fx.repo, path, sha256(payload));
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, payload);
    const targets = { ...(state.rollout.signed.toJSON()["targets"] as Json), [path]: { length: payload.length, hashes: { sha256: sha256(payload) } } };
    const rollout = signed(new Metadata(Targets.fromJSON({ ...state.rollout.signed.toJSON(), version: state.rollout.signed.version + 1, targets })), fx.keys.rollout);
    const bytes = write(`${rollout.signed.version}.rollout.json`, rollout);
    forgeSnapshot(state, { "rollout.json": { version: rollout.signed.version, length: bytes.length, hashes: { sha256: createHash("sha256").update(bytes).digest("hex") } } });
  }

  it("cannot add a model target: the path is not delegated to the rollout role", async () => {
    const dev = await updatedDevice();
    forgedRollout(await loadRepository(fx.repo), "stable/tiny-llm/6.6.6/rpi5/model.onnx", Buffer.from("evil model"));
    const client = fx.updater(dev);
    expect(await client.getTargetInfo("stable/tiny-llm/6.6.6/rpi5/model.onnx")).toBeUndefined();
  });

  it("cannot change a model target: the device still resolves the targets role's entry", async () => {
    const dev = await updatedDevice();
    const state = await loadRepository(fx.repo);
    const genuine = state.targets.signed.targets[MODEL]!;
    forgedRollout(state, MODEL, Buffer.from("evil model"));
    const info = await fx.updater(dev).getTargetInfo(MODEL);
    expect(info?.hashes["sha256"]).toBe(genuine.hashes["sha256"]);
    expect(info?.length).toBe(genuine.length);
  });
});
