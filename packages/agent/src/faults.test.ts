/**
 * Fault injection: the real agent process against Debian's nginx, killed or
 * starved at every step of an update. Each case must end with the device on
 * exactly the old or the new model — `active` naming a complete, verified
 * version — and the next run must finish the job by itself.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNginx, type NginxServer } from "@slmops/test-nginx";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readReleaseRecord } from "./install.js";
import { activeVersion, makeDevice, type Device } from "./test-support/device.js";
import { createTestRepository, type TestRepository } from "@slmops/test-release-repository";
import { verifyVariantFiles } from "@slmops/variant-identity";

const names = (events: readonly { event: string; outcome?: string }[]) => events.map((e) => (e.event === "idle" ? `idle:${e.outcome ?? ""}` : e.event));

let repo: TestRepository;
let nginx: NginxServer;
let version = 0;

beforeAll(async () => {
  repo = await createTestRepository();
  await repo.publish("1.0.0");
  await repo.rollout("1.0.0", { stage: 1 });
  nginx = await startNginx({ root: repo.dir });
}, 120_000);
afterAll(async () => {
  await nginx?.stop();
});

/** A device on 1.0.0, and a newer release rolled out to every device. */
async function deviceWithUpdate(server: NginxServer = nginx): Promise<{ device: Device; next: string }> {
  const device = makeDevice({ repository: nginx.url, root: repo.root });
  await repo.rollout("1.0.0", { stage: 1 });
  expect(device.once().status).toBe(0);
  // From now on the device reads the server under test (the same repository).
  if (server !== nginx) writeFileSync(device.config, readFileSync(device.config, "utf8").replace(nginx.url, server.url));
  version += 1;
  const next = `1.1.${version}`;
  await repo.publish(next);
  await repo.rollout(next, { stage: 1 });
  return { device, next };
}

/** The device is on exactly `old` or `next`: `active` names a complete version whose files are the signed variant. */
async function onOneVersion(device: Device, allowed: readonly string[]): Promise<string> {
  const active = activeVersion(device);
  expect(allowed).toContain(active);
  const dir = join(device.installDir, "active");
  const record = await readReleaseRecord(dir);
  expect(record?.version).toBe(active);
  await verifyVariantFiles(dir, { files: (record?.files ?? []).map((f) => ({ ...f })), digest: record?.digest ?? "" }).catch((error: unknown) => {
    // release.json lies beside the variant's files; anything else would be a half state.
    if (!String(error).includes("release.json is not part of the variant") || String(error).split("\n").length > 2) throw error;
  });
  return active ?? "";
}

describe("the agent killed, starved or cut off at every step ends on the old or the new model, and recovers by itself", { timeout: 600_000 }, () => {
  for (const step of ["downloading", "verifying", "installing", "health-checking", "active"] as const) {
    it(`SIGKILL at ${step}`, async () => {
      const slow = step === "downloading" ? await startNginx({ root: repo.dir, limitRate: 128 * 1024 }) : nginx;
      try {
        const { device, next } = await deviceWithUpdate(slow);
        // Mid-download: killed once some of the file has come (the slow server sends 128 KiB/s).
        const killed = await device.killAt(step, step === "downloading" ? { afterMs: 1500 } : {});
        expect(killed.killed).toBe(true);
        const landed = await onOneVersion(device, ["1.0.0", next]);
        if (step !== "active") expect(landed).toBe("1.0.0");
        if (step === "downloading") {
          const partial = readdirSync(join(device.installDir, "state", "downloads"), { recursive: true }).map(String).find((n) => n.endsWith(".partial"));
          expect(statSync(join(device.installDir, "state", "downloads", partial ?? "")).size).toBeGreaterThan(0);
          await slow.reload({ limitRate: undefined });
        }
        const again = device.once();
        expect(again.status, again.stderr).toBe(0);
        expect(activeVersion(device)).toBe(next);
        await onOneVersion(device, [next]);
        if (step === "downloading") {
          // The partial download was resumed, not restarted.
          const ranged = slow.logs().filter((e) => e.status === 206);
          expect(ranged.length).toBeGreaterThan(0);
        }
        expect(names(device.once().events)).toEqual(["checking", "idle:up-to-date"]);
      } finally {
        if (slow !== nginx) await slow.stop();
      }
    });
  }

  it("a truncated or corrupted download is refused, nothing is installed, and the real bytes are taken next", async () => {
    for (const damage of ["truncated", "corrupted"] as const) {
      const copy = mkdtempSync(join(tmpdir(), "agent-damaged-"));
      const { device, next } = await deviceWithUpdate();
      cpSync(repo.dir, copy, { recursive: true });
      const target = readdirSync(join(copy, "targets"), { recursive: true })
        .map(String)
        .find((p) => p.includes(`/${next}/`) && p.endsWith(".model.onnx"));
      const file = join(copy, "targets", target ?? "");
      if (damage === "truncated") truncateSync(file, statSync(file).size - 1000);
      else {
        const bytes = readFileSync(file);
        bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
        writeFileSync(file, bytes);
      }
      const bad = await startNginx({ root: copy });
      const attacked = makeDevice({ repository: bad.url, root: repo.root });
      cpSync(device.installDir, attacked.installDir, { recursive: true, verbatimSymlinks: true });
      const r = attacked.once();
      await bad.stop();
      expect(r.status, damage).toBe(1);
      expect(names(r.events), damage).toEqual(["checking", "downloading", "failed"]);
      expect(await onOneVersion(attacked, ["1.0.0"])).toBe("1.0.0");
      // The same device against the real repository recovers.
      writeFileSync(attacked.config, readFileSync(attacked.config, "utf8").replace(bad.url, nginx.url));
      expect(attacked.once().status).toBe(0);
      expect(activeVersion(attacked)).toBe(next);
    }
  });

  it("a server that ignores Range: the partial file is restarted from the first byte and the result is right", async () => {
    const slow = await startNginx({ root: repo.dir, limitRate: 128 * 1024 });
    try {
      const { device, next } = await deviceWithUpdate(slow);
      expect((await device.killAt("downloading", { afterMs: 1500 })).killed).toBe(true);
      await slow.reload({ ignoreRange: true, limitRate: undefined });
      slow.clearLogs();
      expect(device.once().status).toBe(0);
      expect(activeVersion(device)).toBe(next);
      expect(slow.logs().filter((e) => e.status === 206)).toEqual([]);
      expect(slow.logs().some((e) => e.status === 200 && e.path.endsWith(".model.onnx"))).toBe(true);
      await onOneVersion(device, [next]);
    } finally {
      await slow.stop();
    }
  });

  it("the server down, then flapping mid-download: each attempt fails as retryable, the device stays, and then updates", async () => {
    const flaky = await startNginx({ root: repo.dir, limitRate: 256 * 1024 });
    try {
      const { device, next } = await deviceWithUpdate(flaky);
      await flaky.stop();
      const down = device.once();
      expect(down.status).toBe(1);
      expect(down.events.at(-1)).toMatchObject({ event: "failed", retryable: true });
      expect(activeVersion(device)).toBe("1.0.0");
      await flaky.start();
      // Down while the file is coming: the download fails part-way, retryable.
      const run = device.killAt("failed");
      await flaky.waitForLog(() => true, { timeoutMs: 20_000 }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1500));
      await flaky.flap({ downMs: 300 });
      const cut = await run;
      expect(cut.events.at(-1)).toMatchObject({ event: "failed", retryable: true });
      expect(await onOneVersion(device, ["1.0.0"])).toBe("1.0.0");
      await flaky.reload({ limitRate: undefined });
      expect(device.once().status).toBe(0);
      expect(activeVersion(device)).toBe(next);
      const status = device.status().json as { failures: number };
      expect(status.failures).toBe(0);
    } finally {
      await flaky.stop();
    }
  });

  it("a full disk: the update is refused before a byte is downloaded, the device stays, and it updates once there is room", async () => {
    const mount = mkdtempSync(join(tmpdir(), "agent-tmpfs-"));
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=80m", "tmpfs", mount]);
    if (mounted.status !== 0) {
      // Mounting needs root (CI runs as root); elsewhere the case cannot be set up.
      expect(process.env.CI, "CI must be able to mount a tmpfs").not.toBe("true");
      return;
    }
    try {
      const device = makeDevice({ repository: nginx.url, root: repo.root, installDir: join(mount, "install") });
      await repo.rollout("1.0.0", { stage: 1 });
      expect(device.once().status).toBe(0);
      version += 1;
      const next = `1.1.${version}`;
      await repo.publish(next);
      await repo.rollout(next, { stage: 1 });
      // Leave 30 MiB: less than the file plus the 64 MiB the agent keeps free.
      const free = statfsSync(mount).bavail * statfsSync(mount).bsize;
      writeFileSync(join(mount, "filler"), Buffer.alloc(free - 30 * 1024 * 1024));
      nginx.clearLogs();
      const r = device.once();
      expect(r.status).toBe(1);
      expect(r.events.at(-1)).toMatchObject({ event: "failed", retryable: true });
      expect(r.events.at(-1)?.reason).toMatch(/space/i);
      expect(nginx.logs().filter((e) => e.path.endsWith(".model.onnx"))).toEqual([]);
      expect(await onOneVersion(device, ["1.0.0"])).toBe("1.0.0");
      rmSync(join(mount, "filler"));
      expect(device.once().status).toBe(0);
      expect(activeVersion(device)).toBe(next);
    } finally {
      spawnSync("umount", [mount]);
    }
  });

  it("a release the agent keeps dying in during its health check counts as failed after two tries, and is not taken again", async () => {
    const { device, next } = await deviceWithUpdate();
    expect((await device.killAt("health-checking")).killed).toBe(true);
    expect((await device.killAt("health-checking")).killed).toBe(true);
    const r = device.once();
    expect(r.events[0]).toMatchObject({ event: "rolled-back", version: next, from: "1.0.0" });
    expect(r.events[0]?.reason).toMatch(/did not finish 2 times/);
    expect(names(r.events).slice(1)).toEqual(["checking", "idle:failed-here"]);
    expect(await onOneVersion(device, ["1.0.0"])).toBe("1.0.0");
  });

  it("one agent at a time on an install directory: a second is refused while the first works; a dead one's lock is taken over", async () => {
    const slow = await startNginx({ root: repo.dir, limitRate: 128 * 1024 });
    try {
      const { device, next } = await deviceWithUpdate(slow);
      const first = device.killAt("active"); // runs until it is done
      await slow.waitForLog((e) => e.path.endsWith(".model.onnx") || e.path.endsWith("timestamp.json"), { timeoutMs: 20_000 }).catch(() => undefined);
      const second = device.once();
      expect(second.status).toBe(1);
      expect(second.stderr).toMatch(/another agent \(pid \d+\) is working on this install directory/);
      await first;
      // Killed while holding the lock: the next agent takes it over.
      writeFileSync(join(device.installDir, "state", "lock"), "999999999\n");
      expect(device.once().status).toBe(0);
      expect(activeVersion(device)).toBe(next);
    } finally {
      await slow.stop();
    }
  });

  it("recovers from a journal and install directory left mid-update, without a server", async () => {
    const { device } = await deviceWithUpdate();
    await device.killAt("installing");
    expect(existsSync(join(device.installDir, "state", "journal.json"))).toBe(true);
    const offline = makeDevice({ repository: "http://127.0.0.1:9", root: repo.root });
    cpSync(device.installDir, offline.installDir, { recursive: true, verbatimSymlinks: true });
    const r = offline.once();
    expect(names(r.events)[0]).toBe("failed"); // the interrupted update, undone
    expect(r.events[0]?.reason).toMatch(/^interrupted while (installing|verifying|downloading)/);
    expect(await onOneVersion(offline, ["1.0.0"])).toBe("1.0.0");
    expect(readdirSync(join(offline.installDir, "versions")).filter((n) => n.startsWith("."))).toEqual([]);
  });
});
