/**
 * `slmops release refresh`, run as the built CLI: the scheduled job that
 * signs a new snapshot and timestamp so that devices — tuf-js's `Updater`
 * over loopback HTTP — do not see the repository as frozen.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadRepository, metadataDirectory, refreshRepository, setRolloutState } from "@slmops/edge-release";
import { describe, expect, it } from "vitest";
import { expectNoSecretInOutput, MODEL, only, setup, updater } from "./test-support/release-repository.js";

const HOUR = 3600_000;
const DAY = 24 * HOUR;

describe("slmops release refresh (real CLI, real repository, tuf-js over loopback HTTP)", { timeout: 120_000 }, () => {
  it("a repository whose timestamp expired is refused by a device until refresh signs a new snapshot and timestamp, with the snapshot and timestamp keys only", async () => {
    const s = await setup();
    const dev = s.device("a");
    await updater(s, dev).refresh();
    // The last signing was two days ago: the timestamp (1 day) has expired, the snapshot (7 days) not.
    const stale = await refreshRepository(s.repo, { signers: { snapshot: [s.keys.snapshot], timestamp: [s.keys.timestamp] }, now: new Date(Date.now() - 2 * DAY) });
    await expect(updater(s, dev).refresh()).rejects.toThrow(/expired/i);
    await expect(updater(s, s.device("b")).refresh()).rejects.toThrow(/expired/i);
    const before = await loadRepository(s.repo);

    const started = Date.now();
    const refreshed = s.run(["release", "refresh", "--repo", "repo"], only(s.env, "snapshot", "timestamp"));
    expect(refreshed.status, refreshed.stderr).toBe(0);
    const ended = Date.now();
    const after = await loadRepository(s.repo);
    expect(after.snapshot.signed.version).toBe(stale.snapshot.signed.version + 1);
    expect(after.timestamp.signed.version).toBe(stale.timestamp.signed.version + 1);
    expect(refreshed.stdout).toContain(`Refreshed repo: snapshot version ${after.snapshot.signed.version}, timestamp version ${after.timestamp.signed.version}.`);
    expect(refreshed.stdout).toMatch(/timestamp expires \S+ \(in 2[34]h \d+m\): refresh again before then, or devices see the repository as frozen/);
    expect(refreshed.stdout).toMatch(/rollout +expires \S+ \(in [67]d \d+h\)/);
    expect(refreshed.stderr).not.toContain("warning");
    // The defaults (no manifest here): the timestamp for 1 day, the snapshot for 7, from now.
    expect(Date.parse(after.timestamp.signed.expires)).toBeGreaterThan(started + DAY - 1000);
    expect(Date.parse(after.timestamp.signed.expires)).toBeLessThanOrEqual(ended + DAY);
    expect(Date.parse(after.snapshot.signed.expires) - started).toBeGreaterThan(7 * DAY - HOUR);
    // Nothing else is signed again: targets, rollout and root are those of before.
    expect(after.targets.signed.version).toBe(before.targets.signed.version);
    expect(after.rollout.signed.version).toBe(before.rollout.signed.version);
    expect(after.root.signed.version).toBe(before.root.signed.version);
    expect(after.snapshot.signed.meta).toEqual(before.snapshot.signed.meta);

    // The device takes it up and verifies releases again; so does a new device.
    const client = updater(s, dev);
    expect((await client.getTargetInfo(MODEL))?.custom["version"]).toBe("1.0.0");
    expect((JSON.parse(readFileSync(join(dev.metadataDir, "timestamp.json"), "utf8")) as { signed: { version: number } }).signed.version).toBe(after.timestamp.signed.version);
    await updater(s, s.device("c")).refresh();
    expectNoSecretInOutput(s);
  });

  it("warns of metadata it does not sign that expires before the refresh after next, and says what signs it", async () => {
    const s = await setup();
    // The rollout state last changed 6.5 days ago: its metadata (7 days) expires in half a day.
    await setRolloutState(s.repo, { channel: "stable", model: "tiny-llm", version: "1.0.0", stage: 1, salt: "5a".repeat(16), halted: false }, { signers: s.signers, now: new Date(Date.now() - 6.5 * DAY) });
    const refreshed = s.run(["release", "refresh", "--repo", "repo"], only(s.env, "snapshot", "timestamp"));
    expect(refreshed.status, refreshed.stderr).toBe(0);
    const expires = (await loadRepository(s.repo)).rollout.signed.expires;
    expect(refreshed.stdout).toMatch(new RegExp(`rollout +expires ${expires} \\(in 1[12]h \\d+m\\)`));
    expect(refreshed.stderr).toContain(`warning: the rollout metadata expires ${expires}, before the refresh after next is due; devices refuse it once it has expired, and refresh does not sign it — promoting or halting (slmops release promote, halt) signs it again`);
    expect(refreshed.stderr).not.toContain("targets metadata");
    expectNoSecretInOutput(s);
  });

  it("with the rollout key as well, signs the rollout metadata again, so a rollout that stays at one stage does not expire on the devices", async () => {
    const s = await setup();
    await setRolloutState(s.repo, { channel: "stable", model: "tiny-llm", version: "1.0.0", stage: 1, salt: "5a".repeat(16), halted: false }, { signers: s.signers, now: new Date(Date.now() - 6.5 * DAY) });
    const before = (await loadRepository(s.repo)).rollout.signed;
    const refreshed = s.run(["release", "refresh", "--repo", "repo"], only(s.env, "rollout", "snapshot", "timestamp"));
    expect(refreshed.status, refreshed.stderr).toBe(0);
    expect(refreshed.stdout).toContain(`rollout signed again (version ${before.version + 1})`);
    expect(refreshed.stderr).not.toContain("warning");
    const after = (await loadRepository(s.repo)).rollout.signed;
    expect(after.version).toBe(before.version + 1);
    expect(Date.parse(after.expires) - Date.now()).toBeGreaterThan(6.9 * DAY);
    // The state itself is as it was, its stage's start included.
    expect(Object.values(after.targets).map((t) => t.custom)).toEqual(Object.values(before.targets).map((t) => t.custom));
    expectNoSecretInOutput(s);
  });

  it("refuses without the snapshot and timestamp keys the repository trusts, and writes nothing", async () => {
    const s = await setup();
    const listing = () => readdirSync(metadataDirectory(s.repo)).sort();
    const before = listing();
    const timestamp = readFileSync(join(metadataDirectory(s.repo), "timestamp.json"));

    const missing = s.run(["release", "refresh", "--repo", "repo"], only(s.env, "snapshot"));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("environment variable SLMOPS_TIMESTAMP_KEY is not set");
    const wrong = s.run(["release", "refresh", "--repo", "repo"], { ...only(s.env, "snapshot"), SLMOPS_TIMESTAMP_KEY: s.env["SLMOPS_ROLLOUT_KEY"] as string });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("signing the timestamp metadata needs 1 of its 1 trusted key(s); 0 of the keys given are trusted");
    expect(wrong.stderr).toContain("Give the timestamp key made for this repository (SLMOPS_TIMESTAMP_KEY when the keys come from the environment), or replace the role's key with `slmops keys rotate --role timestamp`");
    const noRepo = s.run(["release", "refresh", "--repo", "nowhere"], only(s.env, "snapshot", "timestamp"));
    expect(noRepo.status).toBe(1);
    expect(noRepo.stderr).toMatch(/nowhere holds no release repository \(no metadata directory\); make one with `slmops release build --repo .*nowhere`/);

    expect(listing()).toEqual(before);
    expect(readFileSync(join(metadataDirectory(s.repo), "timestamp.json"))).toEqual(timestamp);
    expectNoSecretInOutput(s);
  });
});
