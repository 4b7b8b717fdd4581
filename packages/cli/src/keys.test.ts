/**
 * `slmops keys rotate`, run as the built CLI against a real repository, and
 * a device — tuf-js's `Updater` over loopback HTTP — that trusted root
 * version 1 before the rotation.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadRepository, metadataDirectory, signingKeyFromSecret } from "@slmops/edge-release";
import { Metadata, Root, Targets } from "@tufjs/models";
import { describe, expect, it } from "vitest";
import { envFile, expectNoSecretInOutput, forgeSnapshotAndTimestamp, MODEL, only, ROLLOUT, setup, trustedRoot, updater, writeMetadata } from "./test-support/release-repository.js";

describe("slmops keys rotate (real CLI, real repository, tuf-js over loopback HTTP)", { timeout: 120_000 }, () => {
  it("root: a device that trusted root v1 follows the rotation; a root signed by the old key alone is refused", async () => {
    const s = await setup();
    const dev = s.device("a");
    await updater(s, dev).refresh();
    expect(trustedRoot(dev).version).toBe(1);

    // Only the old root key and the online keys: neither targets nor rollout is needed.
    const rotated = s.run(["keys", "rotate", "--role", "root", "--repo", "repo", "--out-env", "new-root.env"], only(s.env, "root", "snapshot", "timestamp"));
    expect(rotated.status, rotated.stderr).toBe(0);
    expect(rotated.stderr).toContain("note: no slmops.yaml here or above");
    const written = envFile(join(s.dir, "new-root.env"));
    expect(Object.keys(written)).toEqual(["SLMOPS_ROOT_KEY"]);
    expect((statSync(join(s.dir, "new-root.env")).mode & 0o777).toString(8)).toBe("600");
    const newRoot = signingKeyFromSecret(written["SLMOPS_ROOT_KEY"] as string, "new-root.env");
    expect(rotated.stdout).toContain(`Rotated the root key of repo: root version 2 names the new root key, signed by the old root key and the new one.`);
    expect(rotated.stdout).toContain(`old root key ${s.keys.root.keyId}: no longer trusted`);
    expect(rotated.stdout).toContain(`new root key ${newRoot.keyId}: its private key is in new-root.env (mode 0600)`);
    expect(rotated.stdout).toContain("Destroy the old root key now");
    expect(rotated.stdout).toContain("Install new devices with metadata/2.root.json");

    // The device follows 1 → 2 and goes on verifying releases.
    const client = updater(s, dev);
    expect((await client.getTargetInfo(MODEL))?.custom["version"]).toBe("1.0.0");
    expect(trustedRoot(dev).version).toBe(2);
    expect(trustedRoot(dev).roles["root"]?.keyids).toEqual([newRoot.keyId]);

    // The old root key alone signs a root version 3 that takes root back: refused,
    // by that device and by one installed with root v1 (1 → 2 → refused).
    const state = await loadRepository(s.repo);
    const forged = new Metadata(
      Root.fromJSON({
        ...state.root.signed.toJSON(),
        version: 3,
        keys: { ...(state.root.signed.toJSON()["keys"] as object), [s.keys.root.keyId]: s.keys.root.publicKey().toJSON() },
        roles: { ...(state.root.signed.toJSON()["roles"] as object), root: { keyids: [s.keys.root.keyId], threshold: 1 } },
      }),
    );
    forged.sign(s.keys.root.signer);
    writeMetadata(s, "3.root.json", forged);
    await expect(updater(s, dev).refresh()).rejects.toThrow(/root/);
    expect(trustedRoot(dev).version).toBe(2);
    const fresh = s.device("b");
    await expect(updater(s, fresh).refresh()).rejects.toThrow(/root/);
    expect(trustedRoot(fresh).version).toBe(2);
    rmSync(join(metadataDirectory(s.repo), "3.root.json"));

    // Nor can the old key rotate again: refused before any file is written.
    const again = s.run(["keys", "rotate", "--role", "root", "--repo", "repo", "--out-env", "newer-root.env"], only(s.env, "root", "snapshot", "timestamp"));
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`SLMOPS_ROOT_KEY holds key ${s.keys.root.keyId}, which repo does not trust for the root role (it trusts ${newRoot.keyId}); set SLMOPS_ROOT_KEY to the repository's current root key`);
    expect(existsSync(join(s.dir, "newer-root.env"))).toBe(false);
    expect(readdirSync(metadataDirectory(s.repo))).not.toContain("3.root.json");
    // The new one can: 1 → 2 → 3.
    const third = s.run(["keys", "rotate", "--role", "root", "--repo", "repo", "--out-env", "newer-root.env"], { ...only(s.env, "snapshot", "timestamp"), ...written });
    expect(third.status, third.stderr).toBe(0);
    await updater(s, fresh).refresh();
    expect(trustedRoot(fresh).version).toBe(3);

    expectNoSecretInOutput(s, "new-root.env", "newer-root.env");
  });

  it("rollout: the delegation in targets changes; the old rollout key can neither promote nor sign rollout metadata a device accepts", async () => {
    const s = await setup();
    const dev = s.device("a");
    const before = (await updater(s, dev).getTargetInfo(ROLLOUT))?.custom["rollout"];
    expect(before).toMatchObject({ version: "1.0.0", stage: 0 });

    const rotated = s.run(["keys", "rotate", "--role", "rollout", "--repo", "repo", "--out-env", "new-rollout.env"], only(s.env, "targets", "snapshot", "timestamp"));
    expect(rotated.status, rotated.stderr).toBe(0);
    const written = envFile(join(s.dir, "new-rollout.env"));
    const newRollout = signingKeyFromSecret(written["SLMOPS_ROLLOUT_KEY"] as string, "new-rollout.env");
    expect(rotated.stdout).toMatch(/Rotated the rollout key of repo: targets version \d+ delegates the rollout role to the new key \(root unchanged, version 1\)/);
    expect(rotated.stdout).toContain("grep '^SLMOPS_ROLLOUT_KEY=' new-rollout.env | cut -d= -f2- | gh secret set SLMOPS_ROLLOUT_KEY");
    const state = await loadRepository(s.repo);
    expect(state.targets.signed.delegations?.roles?.["rollout"]?.keyIDs).toEqual([newRollout.keyId]);

    // The device reads the same state, now under the new key.
    expect((await updater(s, dev).getTargetInfo(ROLLOUT))?.custom["rollout"]).toEqual(before);

    // The promote job with the old key is refused; with the new one it promotes.
    const oldKey = s.run(["release", "promote", "--repo", "repo"], only(s.env, "rollout", "snapshot", "timestamp"));
    expect(oldKey.status).toBe(1);
    expect(oldKey.stderr).toContain("signing the rollout metadata needs 1 of its 1 trusted key(s); 0 of the keys given are trusted");
    const newKey = s.run(["release", "promote", "--repo", "repo"], { ...only(s.env, "snapshot", "timestamp"), ...written });
    expect(newKey.status, newKey.stderr).toBe(0);
    expect(newKey.stdout).toContain("Promoted tiny-llm 1.0.0 on stable to stage 2 of 2 (100%)");
    expect((await updater(s, dev).getTargetInfo(ROLLOUT))?.custom["rollout"]).toMatchObject({ stage: 1 });

    // Rollout metadata signed by the old key alone, behind a valid snapshot and timestamp: refused.
    const current = await loadRepository(s.repo);
    const forged = new Metadata(Targets.fromJSON({ ...current.rollout.signed.toJSON(), version: current.rollout.signed.version + 1 }));
    forged.sign(s.keys.rollout.signer);
    writeMetadata(s, `${forged.signed.version}.rollout.json`, forged);
    forgeSnapshotAndTimestamp(s, current, { "rollout.json": { version: forged.signed.version } }, s.keys.snapshot, s.keys.timestamp);
    const trusted = readFileSync(join(dev.metadataDir, "rollout.json"), "utf8");
    await expect(updater(s, dev).getTargetInfo(ROLLOUT)).rejects.toThrow(/rollout/);
    expect(readFileSync(join(dev.metadataDir, "rollout.json"), "utf8")).toBe(trusted);

    expectNoSecretInOutput(s, "new-rollout.env");
  });

  it("timestamp: root version 2 names the new key; a timestamp signed by the old key alone is refused", async () => {
    const s = await setup();
    const dev = s.device("a");
    await updater(s, dev).refresh();

    // The rotated role's old key is not needed: root and the snapshot key sign.
    const rotated = s.run(["keys", "rotate", "--role", "timestamp", "--repo", "repo"], only(s.env, "root", "snapshot"));
    expect(rotated.status, rotated.stderr).toBe(0);
    expect(rotated.stdout).toContain("root version 2 names the new timestamp key");
    expect(rotated.stdout).toContain("its private key is in slmops-timestamp-key.env (mode 0600)");
    const written = envFile(join(s.dir, "slmops-timestamp-key.env"));
    const newTimestamp = signingKeyFromSecret(written["SLMOPS_TIMESTAMP_KEY"] as string, "slmops-timestamp-key.env");
    await updater(s, dev).refresh();
    expect(trustedRoot(dev).roles["timestamp"]?.keyids).toEqual([newTimestamp.keyId]);

    // The promote job with the new key works; with the old one it is refused.
    const stale = s.run(["release", "promote", "--repo", "repo"], only(s.env, "rollout", "snapshot", "timestamp"));
    expect(stale.status).toBe(1);
    expect(stale.stderr).toContain("signing the timestamp metadata needs 1 of its 1 trusted key(s); 0 of the keys given are trusted");
    const promoted = s.run(["release", "promote", "--repo", "repo"], { ...only(s.env, "rollout", "snapshot"), ...written });
    expect(promoted.status, promoted.stderr).toBe(0);
    expect((await updater(s, dev).getTargetInfo(ROLLOUT))?.custom["rollout"]).toMatchObject({ stage: 1 });

    // A timestamp signed by the old key alone: refused; the device keeps the one it trusts.
    const trustedTimestamp = readFileSync(join(dev.metadataDir, "timestamp.json"), "utf8");
    forgeSnapshotAndTimestamp(s, await loadRepository(s.repo), {}, s.keys.snapshot, s.keys.timestamp);
    await expect(updater(s, dev).refresh()).rejects.toThrow(/timestamp/);
    expect(readFileSync(join(dev.metadataDir, "timestamp.json"), "utf8")).toBe(trustedTimestamp);

    expectNoSecretInOutput(s, "slmops-timestamp-key.env");
  });

  it("refuses before writing anything: a bad role, no --repo, an existing --out-env, a missing or untrusted key, a canary that is not a key", async () => {
    const s = await setup();
    const listing = () => readdirSync(metadataDirectory(s.repo)).sort();
    const before = listing();
    const timestamp = readFileSync(join(metadataDirectory(s.repo), "timestamp.json"));

    const badRole = s.run(["keys", "rotate", "--role", "admin", "--repo", "repo"], s.env);
    expect(badRole.status).toBe(2);
    expect(badRole.stderr).toContain("Unknown role `admin` for `--role`.");
    expect(badRole.stderr).toContain("one of: root, targets, rollout, snapshot, timestamp.");
    const noRole = s.run(["keys", "rotate", "--repo", "repo"], s.env);
    expect(noRole.status).toBe(2);
    expect(noRole.stderr).toContain("`keys rotate` needs `--role <role>`");
    const noRepo = s.run(["keys", "rotate", "--role", "rollout"], s.env);
    expect(noRepo.status).toBe(2);
    expect(noRepo.stderr).toContain("`keys rotate` needs `--repo <dir>`");

    const existing = s.run(["keys", "rotate", "--role", "rollout", "--repo", "repo", "--out-env", "keys.env"], s.env);
    expect(existing.status).toBe(1);
    expect(existing.stderr).toContain("keys.env already exists; keys are never overwritten");
    expect(envFile(join(s.dir, "keys.env"))).toEqual(s.env);

    const missing = s.run(["keys", "rotate", "--role", "rollout", "--repo", "repo", "--out-env", "k.env"], only(s.env, "snapshot", "timestamp"));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("environment variable SLMOPS_TARGETS_KEY is not set");
    const wrong = s.run(["keys", "rotate", "--role", "rollout", "--repo", "repo", "--out-env", "k.env"], { ...s.env, SLMOPS_TARGETS_KEY: s.env["SLMOPS_ROLLOUT_KEY"] as string });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain(`SLMOPS_TARGETS_KEY holds key ${s.keys.rollout.keyId}, which repo does not trust for the targets role`);
    const canary = "Q0FOQVJZLXByaXZhdGUta2V5LXZhbHVlLTAxMjM0NTY3ODk=";
    const notAKey = s.run(["keys", "rotate", "--role", "root", "--repo", "repo", "--out-env", "k.env"], { ...s.env, SLMOPS_ROOT_KEY: canary });
    expect(notAKey.status).toBe(1);
    expect(notAKey.stderr).toContain("SLMOPS_ROOT_KEY is not a PKCS#8 private key");
    expect(notAKey.stdout + notAKey.stderr).not.toContain(canary);

    expect(existsSync(join(s.dir, "k.env"))).toBe(false);
    expect(existsSync(join(s.dir, "slmops-rollout-key.env"))).toBe(false);
    expect(listing()).toEqual(before);
    expect(readFileSync(join(metadataDirectory(s.repo), "timestamp.json"))).toEqual(timestamp);
    expectNoSecretInOutput(s);
  });
});
