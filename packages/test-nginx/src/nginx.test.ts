import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipWithoutNginx, startNginx, type NginxServer } from "./index.js";

// A TUF-like release repository. mkdtemp makes it 0700, so serving it at all
// shows the workers can read the files when the tests run as root.
const root = mkdtempSync(join(tmpdir(), "test-nginx-root-"));
const model = randomBytes(1024 * 1024);
const rootJson = JSON.stringify({ signed: { _type: "root", version: 1 } });
mkdirSync(join(root, "metadata"));
mkdirSync(join(root, "targets"));
writeFileSync(join(root, "metadata", "root.json"), rootJson);
writeFileSync(join(root, "targets", "model.onnx"), model);
const started: NginxServer[] = [];

async function serve(options: Omit<Parameters<typeof startNginx>[0], "root"> = {}): Promise<NginxServer> {
  const server = await startNginx({ root, ...options });
  started.push(server);
  return server;
}

async function timed(url: string): Promise<{ ms: number; body: Buffer }> {
  const t0 = performance.now();
  const response = await fetch(url);
  const body = Buffer.from(await response.arrayBuffer());
  return { ms: performance.now() - t0, body };
}

/** Whether anything accepts a connection on the port. */
async function answers(port: number): Promise<boolean> {
  return await new Promise((done) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
  });
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((done) => setTimeout(done, 50));
  }
  return false;
}

afterAll(async () => {
  await Promise.all(started.map((server) => server.stop()));
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(skipWithoutNginx())("a real nginx serving a directory", () => {
  let server: NginxServer;
  beforeAll(async () => {
    server = await serve({ logHeaders: ["x-device-id"] });
  });

  it("serves files byte-exactly, JSON as application/json, on 127.0.0.1", async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const target = await fetch(`${server.url}/targets/model.onnx`);
    expect(target.status).toBe(200);
    expect(target.headers.get("accept-ranges")).toBe("bytes");
    expect(Buffer.from(await target.arrayBuffer()).equals(model)).toBe(true);
    const metadata = await fetch(`${server.url}/metadata/root.json`);
    expect(metadata.headers.get("content-type")).toBe("application/json");
    expect(await metadata.text()).toBe(rootJson);
  });

  it("answers a Range request with 206 and the right Content-Range and bytes", async () => {
    const response = await fetch(`${server.url}/targets/model.onnx`, { headers: { Range: "bytes=1000-1999" } });
    expect(response.status).toBe(206);
    expect(response.headers.get("content-range")).toBe(`bytes 1000-1999/${model.length}`);
    expect(Buffer.from(await response.arrayBuffer()).equals(model.subarray(1000, 2000))).toBe(true);
    const open = await fetch(`${server.url}/targets/model.onnx`, { headers: { Range: `bytes=${model.length - 10}-` } });
    expect(open.headers.get("content-range")).toBe(`bytes ${model.length - 10}-${model.length - 1}/${model.length}`);
    expect(Buffer.from(await open.arrayBuffer()).equals(model.subarray(-10))).toBe(true);
  });

  it("answers 404 for a missing file", async () => {
    const response = await fetch(`${server.url}/metadata/9.root.json`);
    expect(response.status).toBe(404);
    await response.arrayBuffer();
  });

  it("records each request in the access log: method, path, status, bytes, Range, chosen headers", async () => {
    server.clearLogs();
    await (await fetch(`${server.url}/targets/model.onnx?x=1`, { headers: { Range: "bytes=0-99", "x-device-id": "dev-7" } })).arrayBuffer();
    await (await fetch(`${server.url}/nothing-here`, { method: "HEAD" })).arrayBuffer();
    const ranged = await server.waitForLog((entry) => entry.path === "/targets/model.onnx");
    expect(ranged).toMatchObject({ method: "GET", uri: "/targets/model.onnx?x=1", status: 206, bodyBytesSent: 100, range: "bytes=0-99", completed: true });
    expect(ranged.headers).toEqual({ "x-device-id": "dev-7" });
    const missing = await server.waitForLog((entry) => entry.path === "/nothing-here");
    expect(missing).toMatchObject({ method: "HEAD", status: 404, range: null, headers: { "x-device-id": null } });
    expect(server.logs().map((entry) => entry.path)).toEqual(["/targets/model.onnx", "/nothing-here"]);
  });

  it("logs a download the client gave up on mid-way as not completed, with the bytes actually sent", async () => {
    const slow = await serve({ limitRate: 64 * 1024 });
    await new Promise<void>((done, fail) => {
      const req = request(`${slow.url}/targets/model.onnx`, { agent: false }, (res) => {
        let got = 0;
        res.on("data", (chunk: Buffer) => {
          got += chunk.length;
          if (got >= 32 * 1024) {
            req.destroy();
            done();
          }
        });
      });
      req.on("error", (error) => (error.message.includes("aborted") || error.message.includes("socket hang up") ? done() : fail(error)));
      req.end();
    });
    const entry = await slow.waitForLog((e) => e.path === "/targets/model.onnx");
    expect(entry.status).toBe(200);
    expect(entry.completed).toBe(false);
    expect(entry.bodyBytesSent).toBeLessThan(model.length);
  });
});

describe.skipIf(skipWithoutNginx())("fault injection", () => {
  it("ignoreRange: a Range request gets 200 with the whole body and no Content-Range", async () => {
    const server = await serve({ ignoreRange: true });
    const response = await fetch(`${server.url}/targets/model.onnx`, { headers: { Range: "bytes=1000-1999" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-range")).toBeNull();
    expect(response.headers.get("accept-ranges")).toBeNull();
    expect(Buffer.from(await response.arrayBuffer()).equals(model)).toBe(true);
    expect((await server.waitForLog()).range).toBe("bytes=1000-1999");
  });

  it("limitRate: a 1 MiB download takes far longer than without", async () => {
    const fast = await serve();
    const slow = await serve({ limitRate: 256 * 1024 }); // about 3 s: nginx lets the first second's worth go at once
    await timed(`${fast.url}/targets/model.onnx`); // warm the page cache
    const quick = await timed(`${fast.url}/targets/model.onnx`);
    const limited = await timed(`${slow.url}/targets/model.onnx`);
    expect(quick.body.equals(model)).toBe(true);
    expect(limited.body.equals(model)).toBe(true);
    expect(limited.ms / Math.max(quick.ms, 1)).toBeGreaterThan(4);
  });

  it("headers on every response, errors too; a location returning 503 or 500 with a body", async () => {
    const server = await serve({
      headers: { "Cache-Control": "public, max-age=300" },
      locations: [
        { match: "= /metadata/timestamp.json", status: 503 },
        { match: "/broken/", status: 500, body: "injected" },
        { match: "/metadata/", headers: { "Cache-Control": "no-cache" } },
      ],
    });
    const target = await fetch(`${server.url}/targets/model.onnx`);
    expect(target.headers.get("cache-control")).toBe("public, max-age=300");
    await target.arrayBuffer();
    const missing = await fetch(`${server.url}/targets/none`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("cache-control")).toBe("public, max-age=300");
    await missing.arrayBuffer();
    const metadata = await fetch(`${server.url}/metadata/root.json`);
    expect(metadata.headers.get("cache-control")).toBe("no-cache");
    expect(await metadata.text()).toBe(rootJson);
    const unavailable = await fetch(`${server.url}/metadata/timestamp.json`);
    expect(unavailable.status).toBe(503);
    await unavailable.arrayBuffer();
    const broken = await fetch(`${server.url}/broken/x`);
    expect(broken.status).toBe(500);
    expect(await broken.text()).toBe("injected");
  });

  it("flap: goes down (connections refused) and comes back on the same port", async () => {
    const server = await serve();
    const port = server.port;
    await (await fetch(`${server.url}/metadata/root.json`, { headers: { "user-agent": "before" } })).text();
    await server.waitForLog();
    await server.stop();
    expect(server.running).toBe(false);
    expect(existsSync(server.prefix)).toBe(false); // stop() tidies up; the logs stay readable
    expect(server.logs().map((entry) => entry.userAgent)).toEqual(["before"]);
    expect(await answers(port)).toBe(false);
    await expect(fetch(`${server.url}/metadata/root.json`)).rejects.toThrow();
    await server.start();
    expect(server.port).toBe(port);
    expect(await (await fetch(`${server.url}/metadata/root.json`, { headers: { "user-agent": "after" } })).text()).toBe(rootJson);
    await server.waitForLog((entry) => entry.userAgent === "after");
    expect(server.logs().map((entry) => entry.userAgent)).toEqual(["before", "after"]);

    let downSeen = false;
    await server.flap({
      whileDown: async () => {
        downSeen = !(await answers(port));
      },
    });
    expect(downSeen).toBe(true);
    expect(server.port).toBe(port);
    expect(await (await fetch(`${server.url}/metadata/root.json`)).text()).toBe(rootJson);
  });

  it("reload applies changed options on the same port; a bad config throws and the old one stays", async () => {
    const server = await serve();
    const port = server.port;
    await server.reload({ locations: [{ match: "= /metadata/root.json", status: 503 }], ignoreRange: true });
    expect(server.port).toBe(port);
    const down = await fetch(`${server.url}/metadata/root.json`);
    expect(down.status).toBe(503);
    await down.arrayBuffer();
    const whole = await fetch(`${server.url}/targets/model.onnx`, { headers: { Range: "bytes=0-9" } });
    expect(whole.status).toBe(200);
    await whole.arrayBuffer();

    await expect(server.reload({ directives: "no_such_directive on;" })).rejects.toThrow(/no_such_directive/);
    expect(server.options.directives).toBeUndefined();
    expect((await fetch(`${server.url}/metadata/root.json`)).status).toBe(503);

    await server.reload({ locations: undefined, ignoreRange: undefined });
    expect(await (await fetch(`${server.url}/metadata/root.json`)).text()).toBe(rootJson);
    const ranged = await fetch(`${server.url}/targets/model.onnx`, { headers: { Range: "bytes=0-9" } });
    expect(ranged.status).toBe(206);
    await ranged.arrayBuffer();
    expect(server.logs().every((entry) => !entry.path.startsWith("/__slmops"))).toBe(true);
  });

  it("a fixed port that is taken fails clearly", async () => {
    const server = await serve();
    await expect(startNginx({ root, port: server.port, startTimeoutMs: 10_000 })).rejects.toThrow(/port is taken|Address already in use/);
  });

  it("a binary that is not there is refused with the install hint", async () => {
    await expect(startNginx({ root, binary: "/nonexistent/nginx" })).rejects.toThrow(/apt-get install nginx/);
  });

  it("a root that is not a directory is refused before nginx starts", async () => {
    await expect(startNginx({ root: join(root, "nope") })).rejects.toThrow(/not a directory/);
  });
});

describe.skipIf(skipWithoutNginx())("nginx does not outlive the test process", () => {
  const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));

  async function child(mode: "forget" | "kill"): Promise<{ port: number; prefix: string; exited: Promise<void>; kill: () => void }> {
    if (!existsSync(dist)) throw new Error(`${dist} is missing: build the package first (pnpm build; turbo's test task does)`);
    const script = `
      import { startNginx } from ${JSON.stringify(dist)};
      const server = await startNginx({ root: ${JSON.stringify(root)} });
      console.log(JSON.stringify({ port: server.port, prefix: server.prefix }));
      ${mode === "kill" ? "setInterval(() => {}, 1000);" : "// returns without stop(): the exit hook stops nginx"}
    `;
    const proc = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<void>((done) => proc.once("exit", () => done()));
    const line = await new Promise<string>((done, fail) => {
      let out = "";
      proc.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString("utf8");
        if (out.includes("\n")) done(out.slice(0, out.indexOf("\n")));
      });
      proc.once("exit", (code) => fail(new Error(`child exited (${code}) before starting nginx`)));
    });
    return { ...(JSON.parse(line) as { port: number; prefix: string }), exited, kill: () => proc.kill("SIGKILL") };
  }

  it("a process that ends without stop(): nginx stops and the prefix is removed", async () => {
    const { port, prefix, exited } = await child("forget");
    await exited;
    expect(await until(async () => !(await answers(port)), 15_000)).toBe(true);
    expect(existsSync(prefix)).toBe(false);
  });

  it("a process killed with SIGKILL: nginx stops all the same (parent-death signal)", async () => {
    const { port, prefix, exited, kill } = await child("kill");
    expect(await answers(port)).toBe(true);
    kill();
    await exited;
    expect(await until(async () => !(await answers(port)), 15_000)).toBe(true);
    rmSync(prefix, { recursive: true, force: true });
  });
});
