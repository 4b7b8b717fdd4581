import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inCohort, newCohortSalt } from "@slmops/rollout-cohort";
import { startNginx, type NginxServer as Nginx } from "@slmops/test-nginx";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activeModel, watchActiveModel, type ActiveModel } from "./active-model.js";
import { EVENT_FIELDS, type AgentEvent } from "./events.js";
import { activeVersion, makeDevice } from "./test-support/device.js";
import { DEVICE_CLASS, createTestRepository, type TestRepository } from "@slmops/test-release-repository";

const DAY = 86_400_000;
const names = (events: readonly AgentEvent[]) => events.map((e) => (e.event === "idle" ? `idle:${e.outcome}` : e.event));
const UPDATE = ["checking", "downloading", "verifying", "installing", "health-checking", "active"];

function trusted(device: { installDir: string }): Record<string, string> {
  const dir = join(device.installDir, "state", "trusted");
  return Object.fromEntries(readdirSync(dir).sort().map((n) => [n, readFileSync(join(dir, n), "utf8")]));
}

/** Device ids on each side of a 10% cohort of `salt`. */
function idsAround(salt: string): { inside: string; outside: string } {
  let inside: string | undefined;
  let outside: string | undefined;
  for (let i = 0; inside === undefined || outside === undefined; i++) {
    const id = `kiosk-${i}`;
    if (inCohort(salt, id, 10)) inside ??= id;
    else outside ??= id;
  }
  return { inside, outside };
}

let repo: TestRepository;
let nginx: Nginx;

beforeAll(async () => {
  repo = await createTestRepository();
  nginx = await startNginx({ root: repo.dir });
}, 120_000);
afterAll(async () => {
  await nginx?.stop();
});

describe("slmops agent against Debian's nginx serving a signed repository (real agent process, real ONNX Runtime health check)", { timeout: 300_000 }, () => {
  it("takes up a release stage by stage: outside the stage it does nothing, inside it updates, and the stage raised takes the rest", async () => {
    const salt = newCohortSalt();
    const { inside, outside } = idsAround(salt);
    await repo.publish("1.0.0");
    await repo.rollout("1.0.0", { stage: 0, salt });
    const a = makeDevice({ repository: nginx.url, root: repo.root, id: inside });
    const b = makeDevice({ repository: nginx.url, root: repo.root, id: outside });

    const first = a.once();
    expect(first.status, first.stderr).toBe(0);
    expect(names(first.events)).toEqual(UPDATE);
    expect(activeVersion(a)).toBe("1.0.0");
    const model = await activeModel(a.installDir);
    expect(model?.version).toBe("1.0.0");
    expect(readFileSync(model?.path ?? "").equals(readFileSync(join(repo.work, "variants", "1.0.0", DEVICE_CLASS, "model.onnx")))).toBe(true);

    const notYet = b.once();
    expect(notYet.status).toBe(0);
    expect(names(notYet.events)).toEqual(["checking", "idle:not-in-stage"]);
    expect(notYet.events[1]).toMatchObject({ stage: 0, percent: 10 });
    expect(activeVersion(b)).toBeUndefined();

    await repo.rollout("1.0.0", { stage: 1, salt });
    expect(names(b.once().events)).toEqual(UPDATE);
    expect(activeVersion(b)).toBe("1.0.0");
    expect(names(a.once().events)).toEqual(["checking", "idle:up-to-date"]);

    // Only allow-listed fields ever leave the device.
    for (const e of [...first.events, ...notYet.events]) for (const key of Object.keys(e)) expect(EVENT_FIELDS).toContain(key);
  });

  it("does not take up a halted rollout; devices that have a release keep it", async () => {
    const device = makeDevice({ repository: nginx.url, root: repo.root });
    await repo.rollout("1.0.0", { stage: 1 });
    expect(names(device.once().events)).toEqual(UPDATE);
    await repo.publish("2.0.0");
    await repo.rollout("2.0.0", { stage: 1, halted: true });
    const fresh = makeDevice({ repository: nginx.url, root: repo.root });
    expect(names(device.once().events)).toEqual(["checking", "idle:halted"]);
    expect(activeVersion(device)).toBe("1.0.0");
    expect(names(fresh.once().events)).toEqual(["checking", "idle:halted"]);
    expect(activeVersion(fresh)).toBeUndefined();
  });

  it("a release that loads but fails its health check is rolled back, reported, and not retried until a newer one; two versions are kept", async () => {
    const device = makeDevice({ repository: nginx.url, root: repo.root });
    await repo.rollout("1.0.0", { stage: 1 });
    expect(device.once().status).toBe(0);
    await repo.publish("3.0.0", { fixtureSeed: 77 });
    await repo.rollout("3.0.0", { stage: 1 });
    const bad = device.once();
    expect(bad.status).toBe(1);
    expect(names(bad.events)).toEqual(["checking", "downloading", "verifying", "installing", "health-checking", "rolled-back"]);
    expect(bad.events.at(-1)).toMatchObject({ version: "3.0.0", from: "1.0.0" });
    expect(bad.events.at(-1)?.reason).toMatch(/^health check failed: /);
    expect(activeVersion(device)).toBe("1.0.0");
    expect(readdirSync(join(device.installDir, "versions")).filter((n) => !n.startsWith("."))).toEqual([expect.stringMatching(/^1\.0\.0-/)]);
    expect(names(device.once().events)).toEqual(["checking", "idle:failed-here"]);

    await repo.publish("3.0.1");
    await repo.rollout("3.0.1", { stage: 1 });
    expect(names(device.once().events)).toEqual(UPDATE);
    await repo.publish("3.0.2");
    await repo.rollout("3.0.2", { stage: 1 });
    const updated = device.once();
    expect(updated.events.at(-1)).toMatchObject({ event: "active", version: "3.0.2", from: "3.0.1" });
    // The active and the previous version stay; older ones go.
    expect(readdirSync(join(device.installDir, "versions")).map((n) => n.replace(/-[0-9a-f]{12}$/, "")).sort()).toEqual(["3.0.1", "3.0.2"]);
    const status = device.status().json as { active: { version: string }; previous: { version: string }; failed: { version: string }[] };
    expect(status.active.version).toBe("3.0.2");
    expect(status.previous.version).toBe("3.0.1");
    expect(status.failed.map((f) => f.version)).toEqual(["3.0.0"]);
  });

  it("refuses tampered, rolled-back and expired metadata: nothing installed, the trusted metadata unchanged", async () => {
    const device = makeDevice({ repository: nginx.url, root: repo.root });
    await repo.publish("4.0.0");
    await repo.rollout("4.0.0", { stage: 1 });
    expect(device.once().status).toBe(0);
    // The repository as it is now, before the device trusts newer metadata: served later, it is a rollback.
    const old = mkdtempSync(join(tmpdir(), "agent-old-repo-"));
    cpSync(repo.dir, old, { recursive: true });
    await repo.publish("4.1.0");
    await repo.rollout("4.1.0", { stage: 1 });
    expect(device.once().status).toBe(0);
    const before = trusted(device);

    const serveCopy = async (edit: (dir: string) => void): Promise<Nginx> => {
      const copy = mkdtempSync(join(tmpdir(), "agent-evil-repo-"));
      cpSync(repo.dir, copy, { recursive: true });
      edit(copy);
      return startNginx({ root: copy });
    };
    const attacks: [string, Nginx][] = [
      [
        "a timestamp changed by one byte",
        await serveCopy((dir) => {
          const file = join(dir, "metadata", "timestamp.json");
          writeFileSync(file, readFileSync(file, "utf8").replace(/"version": ?(\d+)/, (_m, v: string) => `"version":${Number(v) + 1}`));
        }),
      ],
      ["the repository as it was before the last release (rolled back)", await startNginx({ root: old })],
    ];
    for (const [what, server] of attacks) {
      const attacked = makeDevice({ repository: server.url, root: repo.root });
      cpSync(device.installDir, attacked.installDir, { recursive: true, verbatimSymlinks: true });
      const r = attacked.once();
      await server.stop();
      expect(r.status, what).toBe(1);
      expect(names(r.events), what).toEqual(["checking", "failed"]);
      expect(r.events[1]?.retryable, what).toBe(false);
      // A refusal the agent expects: one line, no "internal error" with a stack.
      expect(r.stderr, what).not.toMatch(/internal error/);
      expect(activeVersion(attacked), what).toBe("4.1.0");
      expect(trusted(attacked), what).toEqual(before);
    }

    // Expired: the timestamp was signed two days ago with a one-day life.
    await repo.publish("4.2.0", { now: new Date(Date.now() - 2 * DAY) });
    const r = device.once();
    expect(names(r.events)).toEqual(["checking", "failed"]);
    expect(r.events[1]?.reason).toMatch(/expired/i);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(activeVersion(device)).toBe("4.1.0");
    expect(trusted(device)).toEqual(before);
  });

  it("names the repository and what went wrong when it cannot be had, retrying only what may pass; a wrong trust anchor is named", async () => {
    // Each server in a process of its own: the agent runs with spawnSync, which blocks this one.
    const answering = async (status: number): Promise<{ url: string; child: ChildProcess }> => {
      const child = spawn(process.execPath, ["-e", `const s = require("node:http").createServer((q, r) => r.writeHead(${status}).end()); s.listen(0, "127.0.0.1", () => console.log(s.address().port));`], { stdio: ["ignore", "pipe", "inherit"] });
      const [line] = (await once(child.stdout!, "data")) as [Buffer];
      return { url: `http://127.0.0.1:${line.toString().trim()}/releases`, child };
    };
    const notFound = await answering(404);
    const failing = await answering(503);
    const closed = await answering(200);
    closed.child.kill();
    await once(closed.child, "close");
    const urlOf = (server: { url: string }) => server.url;
    const closedUrl = closed.url;
    try {
      const cases: [string, string, RegExp, boolean][] = [
        ["404", urlOf(notFound), /^the release repository http:\/\/127\.0\.0\.1:\d+\/releases answered HTTP 404 Not Found for its metadata; check the repository URL/, false],
        ["503", urlOf(failing), /answered HTTP 503 Service Unavailable for its metadata; the server failed; it is tried again later$/, true],
        ["nothing listening", closedUrl, /^the release repository http:\/\/127\.0\.0\.1:\d+\/releases cannot be reached \(ECONNREFUSED\); check the URL and that its server is running$/, true],
      ];
      for (const [what, repository, reason, retryable] of cases) {
        const r = makeDevice({ repository, root: repo.root }).once();
        expect(r.status, what).toBe(1);
        expect(names(r.events), what).toEqual(["checking", "failed"]);
        expect(r.events[1]?.reason, what).toMatch(reason);
        expect(r.events[1]?.retryable, what).toBe(retryable);
        expect(r.stderr, what).not.toMatch(/internal error/);
      }
    } finally {
      notFound.child.kill();
      failing.child.kill();
    }
    // A trust anchor that is JSON but not root metadata: the repository's timestamp, installed by mistake.
    const wrong = makeDevice({ repository: nginx.url, root: join(repo.dir, "metadata", "timestamp.json") }).once();
    expect(wrong.status).toBe(1);
    expect(wrong.events[1]?.reason).toMatch(/timestamp\.json is not TUF root metadata \(it is timestamp metadata\); install the release repository's metadata\/1\.root\.json there$/);
    expect(wrong.stderr).not.toMatch(/internal error/);
  });

  it("tells the application when the active model changes, with a path that stays valid after the switch", async () => {
    const device = makeDevice({ repository: nginx.url, root: repo.root });
    await repo.publish("5.0.0");
    await repo.rollout("5.0.0", { stage: 1 });
    expect(device.once().status).toBe(0);
    const seen: ActiveModel[] = [];
    const watcher = watchActiveModel(device.installDir, (m) => void seen.push(m), { intervalMs: 100 });
    try {
      await repo.publish("5.1.0");
      await repo.rollout("5.1.0", { stage: 1 });
      expect(device.once().status).toBe(0);
      await expect.poll(() => seen.map((m) => m.version), { timeout: 5000 }).toEqual(["5.1.0"]);
      expect(seen[0]?.path).toMatch(/versions\/5\.1\.0-[0-9a-f]{12}\/model\.onnx$/);
    } finally {
      watcher.close();
    }
  });
});
