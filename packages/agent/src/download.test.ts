import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, test } from "vitest";
import { DownloadError, downloadFile, InsufficientSpaceError, partialPathOf, redactUrl, type DownloadProgress, type ExpectedFile } from "./download.js";

// ---------------------------------------------------------------------------
// Real loopback servers and real files

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface TestServer {
  readonly url: string;
  /** The headers of every request, in order. */
  readonly requests: IncomingHttpHeaders[];
  readonly paths: string[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];

async function serve(handler: Handler): Promise<TestServer> {
  const requests: IncomingHttpHeaders[] = [];
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.headers);
    paths.push(req.url ?? "");
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const handle: TestServer = {
    url: `http://127.0.0.1:${port}`,
    requests,
    paths,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(handle);
  return handle;
}

/** Serves `data` as nginx serves a static file: 200 whole, 206 for `Range: bytes=N-`, 416 past the end. */
function staticFile(data: Buffer): Handler {
  return (req, res) => {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (!range) {
      res.writeHead(200, { "content-length": data.length });
      res.end(data);
      return;
    }
    const start = Number(range[1]);
    if (start >= data.length) {
      res.writeHead(416, { "content-range": `bytes */${data.length}` });
      res.end();
      return;
    }
    res.writeHead(206, { "content-length": data.length - start, "content-range": `bytes ${start}-${data.length - 1}/${data.length}` });
    res.end(data.subarray(start));
  };
}

/** Writes `data` in `size`-byte pieces, one every `everyMs`. */
function drip(res: ServerResponse, data: Buffer, size: number, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (res.destroyed) return void clearInterval(timer);
    res.write(data.subarray(at, at + size));
    at += size;
    if (at >= data.length) {
      clearInterval(timer);
      res.end();
    }
  }, everyMs);
  res.on("close", () => clearInterval(timer));
}

function expectedOf(data: Buffer): ExpectedFile {
  return { length: data.length, sha256: createHash("sha256").update(data).digest("hex") };
}

async function failure(promise: Promise<unknown>): Promise<DownloadError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DownloadError);
  return error as DownloadError;
}

async function sizeOf(path: string): Promise<number | undefined> {
  return (await stat(path).catch(() => undefined))?.size;
}

const MiB = 1024 * 1024;
let dir: string;
let destination: string;
let partial: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-download-"));
  destination = join(dir, "model.onnx");
  partial = partialPathOf(destination);
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------

describe("downloadFile", () => {
  test("a clean download: the verified file in place, no partial file left, progress to the total", async () => {
    const data = randomBytes(3 * MiB + 17);
    const server = await serve(staticFile(data));
    const progress: DownloadProgress[] = [];
    const result = await downloadFile(`${server.url}/targets/model.onnx`, destination, expectedOf(data), { onProgress: (p) => progress.push(p) });
    expect(result).toEqual({ path: destination, bytes: data.length, resumedFrom: 0, requests: 1 });
    expect((await readFile(destination)).equals(data)).toBe(true);
    expect(await readdir(dir)).toEqual(["model.onnx"]);
    expect(server.requests[0]?.range).toBeUndefined();
    expect(server.requests[0]?.["accept-encoding"]).toBe("identity");
    expect(progress[0]).toEqual({ bytes: 0, total: data.length });
    expect(progress.at(-1)).toEqual({ bytes: data.length, total: data.length });
    expect(progress.length).toBeGreaterThanOrEqual(4);
  });

  test("resumes a partial file with Range: the 206 is appended and the result is whole", async () => {
    const data = randomBytes(2 * MiB + 5);
    const kept = MiB + 123;
    await writeFile(partial, data.subarray(0, kept));
    const server = await serve(staticFile(data));
    const result = await downloadFile(`${server.url}/m`, destination, expectedOf(data));
    expect(server.requests.map((h) => h.range)).toEqual([`bytes=${kept}-`]);
    expect(result.resumedFrom).toBe(kept);
    expect((await readFile(destination)).equals(data)).toBe(true);
    expect(await sizeOf(partial)).toBeUndefined();
  });

  test("a server that ignores Range (200) makes the download start over, and it still ends right", async () => {
    const data = randomBytes(MiB);
    await writeFile(partial, randomBytes(300_000)); // not even the right bytes: they must all go
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": data.length });
      res.end(data);
    });
    await downloadFile(`${server.url}/m`, destination, expectedOf(data));
    expect(server.requests[0]?.range).toBe("bytes=300000-");
    expect((await readFile(destination)).equals(data)).toBe(true);
  });

  test("a 206 whose Content-Range starts elsewhere is not appended: a fresh request without Range starts over", async () => {
    const data = randomBytes(MiB);
    await writeFile(partial, data.subarray(0, 1000));
    const server = await serve((req, res) => {
      if (req.headers.range) {
        // Starts at 0, not at 1000: appending it would duplicate bytes.
        res.writeHead(206, { "content-length": data.length, "content-range": `bytes 0-${data.length - 1}/${data.length}` });
        res.end(data);
      } else staticFile(data)(req, res);
    });
    const result = await downloadFile(`${server.url}/m`, destination, expectedOf(data));
    expect(server.requests.map((h) => h.range)).toEqual(["bytes=1000-", undefined]);
    expect(result.requests).toBe(2);
    expect((await readFile(destination)).equals(data)).toBe(true);
  });

  test("a 206 of a file of another total length is not appended either", async () => {
    const data = randomBytes(100_000);
    await writeFile(partial, data.subarray(0, 1000));
    const server = await serve((req, res) => {
      if (req.headers.range) {
        res.writeHead(206, { "content-length": data.length - 1000, "content-range": `bytes 1000-${data.length - 1}/${data.length + 1}` });
        res.end(data.subarray(1000));
      } else staticFile(data)(req, res);
    });
    await downloadFile(`${server.url}/m`, destination, expectedOf(data));
    expect(server.requests.map((h) => h.range)).toEqual(["bytes=1000-", undefined]);
    expect((await readFile(destination)).equals(data)).toBe(true);
  });

  test("a server that answers a wrong range even without Range fails retryable rather than looping", async () => {
    const data = randomBytes(10_000);
    await writeFile(partial, data.subarray(0, 1000));
    const server = await serve((_req, res) => {
      res.writeHead(206, { "content-length": 10, "content-range": `bytes 5-14/${data.length}` });
      res.end(data.subarray(5, 15));
    });
    const error = await failure(downloadFile(`${server.url}/m`, destination, expectedOf(data)));
    expect(error.kind).toBe("protocol");
    expect(error.retryable).toBe(true);
    expect(server.requests).toHaveLength(2);
  });

  test("a server that serves ranges piecewise (206s that end early) is followed to the end", async () => {
    const data = randomBytes(3 * MiB + 1);
    const server = await serve((req, res) => {
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? "")?.[1] ?? 0);
      const end = Math.min(start + MiB, data.length) - 1;
      res.writeHead(206, { "content-length": end - start + 1, "content-range": `bytes ${start}-${end}/${data.length}` });
      res.end(data.subarray(start, end + 1));
    });
    const result = await downloadFile(`${server.url}/m`, destination, expectedOf(data));
    expect(server.requests.map((h) => h.range)).toEqual([undefined, `bytes=${MiB}-`, `bytes=${2 * MiB}-`, `bytes=${3 * MiB}-`]);
    expect(result.requests).toBe(4);
    expect((await readFile(destination)).equals(data)).toBe(true);
  });

  test("a partial file that is already complete is verified without a request (no 416 round trip)", async () => {
    const data = randomBytes(50_000);
    await writeFile(partial, data);
    const server = await serve(staticFile(data));
    const result = await downloadFile(`${server.url}/m`, destination, expectedOf(data));
    expect(result).toMatchObject({ resumedFrom: data.length, requests: 0 });
    expect(server.requests).toHaveLength(0);
    expect((await readFile(destination)).equals(data)).toBe(true);
  });

  test("a 416 to a partial file shorter than the signed length starts over with a fresh request", async () => {
    const data = randomBytes(50_000);
    await writeFile(partial, data.subarray(0, 20_000));
    const server = await serve((req, res) => {
      if (req.headers.range) {
        res.writeHead(416, { "content-range": "bytes */10000" });
        res.end();
      } else staticFile(data)(req, res);
    });
    await downloadFile(`${server.url}/m`, destination, expectedOf(data));
    expect(server.requests.map((h) => h.range)).toEqual(["bytes=20000-", undefined]);
    expect((await readFile(destination)).equals(data)).toBe(true);
  });

  test("a truncated body fails retryable, keeps the partial file, and the next attempt resumes from it", async () => {
    const data = randomBytes(2 * MiB);
    const half = MiB;
    const broken = await serve((_req, res) => {
      res.writeHead(200, { "content-length": data.length });
      res.write(data.subarray(0, half), () => res.socket?.destroy());
    });
    const error = await failure(downloadFile(`${broken.url}/m`, destination, expectedOf(data)));
    expect(error.kind).toBe("truncated");
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("resumes");
    const kept = (await sizeOf(partial)) ?? 0;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(half);
    expect(await sizeOf(destination)).toBeUndefined();

    const good = await serve(staticFile(data));
    const result = await downloadFile(`${good.url}/m`, destination, expectedOf(data));
    expect(good.requests[0]?.range).toBe(`bytes=${kept}-`);
    expect(result.resumedFrom).toBe(kept);
    expect((await readFile(destination)).equals(data)).toBe(true);
  });

  test("a server that stalls mid-body hits the read timeout: a clear, retryable error, the partial file kept", async () => {
    const data = randomBytes(MiB);
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": data.length });
      res.write(data.subarray(0, 100_000)); // and then nothing, ever
    });
    const began = Date.now();
    const error = await failure(downloadFile(`${server.url}/m`, destination, expectedOf(data), { readTimeoutMs: 300 }));
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(error.kind).toBe("timeout");
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/stalled: no data for 300ms/);
    expect(await sizeOf(partial)).toBe(100_000);
  });

  test("a server that does not answer at all hits the same timeout", async () => {
    const server = await serve(() => undefined);
    const error = await failure(downloadFile(`${server.url}/m`, destination, { length: 10, sha256: "0".repeat(64) }, { readTimeoutMs: 300 }));
    expect(error.kind).toBe("timeout");
    expect(error.retryable).toBe(true);
  });

  test("a slow but steady server (bytes dripping under the timeout, for longer than it in total) succeeds", async () => {
    const data = randomBytes(40 * 64);
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": data.length });
      drip(res, data, 64, 40); // 40 pieces, one every 40 ms: ~1.6 s in all, never 300 ms without data
    });
    const began = Date.now();
    await downloadFile(`${server.url}/m`, destination, expectedOf(data), { readTimeoutMs: 300 });
    expect(Date.now() - began).toBeGreaterThan(600);
    expect((await readFile(destination)).equals(data)).toBe(true);
  });

  test("an endless body is cut off at the signed length: the partial file never grows past it", async () => {
    const expected = { length: MiB, sha256: "a".repeat(64) };
    let sent = 0;
    let largest = 0;
    let closed = false;
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" }); // chunked, no length: no end
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = (): void => {
        while (!res.destroyed) {
          largest = Math.max(largest, statSync(partial, { throwIfNoEntry: false })?.size ?? 0);
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
      };
      res.on("close", () => (closed = true));
      pump();
    });
    const error = await failure(downloadFile(`${server.url}/m`, destination, expected));
    expect(error.kind).toBe("too-long");
    expect(error.retryable).toBe(false);
    expect(sent).toBeGreaterThan(expected.length);
    expect(largest).toBeLessThanOrEqual(expected.length);
    expect(await sizeOf(partial)).toBeUndefined(); // not the signed file: deleted
    expect(await sizeOf(destination)).toBeUndefined();
    await expect.poll(() => closed).toBe(true);
  });

  test("a declared length other than the signed one is refused before the body is read", async () => {
    const data = randomBytes(1000);
    const server = await serve(staticFile(Buffer.concat([data, Buffer.from("x")])));
    const error = await failure(downloadFile(`${server.url}/m`, destination, expectedOf(data)));
    expect(error.kind).toBe("length-mismatch");
    expect(error.retryable).toBe(false);
  });

  test("a corrupted byte fails the hash (permanent after a full download) and removes the partial file", async () => {
    const data = randomBytes(MiB);
    const corrupted = Buffer.from(data);
    corrupted[123_456] = (corrupted[123_456] ?? 0) ^ 0x01;
    const server = await serve(staticFile(corrupted));
    const error = await failure(downloadFile(`${server.url}/m`, destination, expectedOf(data)));
    expect(error.kind).toBe("hash-mismatch");
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(expectedOf(data).sha256);
    expect(await readdir(dir)).toEqual([]);
  });

  test("corrupt bytes from an earlier attempt fail the hash retryable; the next attempt downloads it whole", async () => {
    const data = randomBytes(MiB);
    const old = Buffer.from(data.subarray(0, 4000));
    old[10] = (old[10] ?? 0) ^ 0xff;
    await writeFile(partial, old);
    const server = await serve(staticFile(data));
    const error = await failure(downloadFile(`${server.url}/m`, destination, expectedOf(data)));
    expect(error.kind).toBe("hash-mismatch");
    expect(error.retryable).toBe(true);
    expect(await sizeOf(partial)).toBeUndefined();
    await downloadFile(`${server.url}/m`, destination, expectedOf(data));
    expect(server.requests.map((h) => h.range)).toEqual(["bytes=4000-", undefined]);
    expect((await readFile(destination)).equals(data)).toBe(true);
  });

  test("a 404 is permanent; the message names the URL without its query secrets", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(404);
      res.end("not found");
    });
    const error = await failure(downloadFile(`${server.url}/targets/abc.model.onnx?X-Amz-Signature=s3cr3t`, destination, { length: 10, sha256: "0".repeat(64) }));
    expect(error).toMatchObject({ kind: "http-status", status: 404, retryable: false });
    expect(error.message).toContain(`${server.url}/targets/abc.model.onnx?…`);
    expect(error.message).not.toContain("s3cr3t");
    expect(error.url).not.toContain("s3cr3t");
    expect(error.message).toMatch(/hint: the file is not on the host/);
  });

  test("a 403 is permanent, a 503 retryable with its Retry-After", async () => {
    let status = 403;
    const server = await serve((_req, res) => {
      res.writeHead(status, status === 503 ? { "retry-after": "120" } : {});
      res.end();
    });
    const forbidden = await failure(downloadFile(`${server.url}/m`, destination, { length: 10, sha256: "0".repeat(64) }));
    expect(forbidden).toMatchObject({ kind: "http-status", status: 403, retryable: false });
    status = 503;
    const unavailable = await failure(downloadFile(`${server.url}/m`, destination, { length: 10, sha256: "0".repeat(64) }));
    expect(unavailable).toMatchObject({ kind: "http-status", status: 503, retryable: true, retryAfterMs: 120_000 });
  });

  test("a refused connection is a retryable network error", async () => {
    const server = await serve(() => undefined);
    await server.close();
    const error = await failure(downloadFile(`${server.url}/m`, destination, { length: 10, sha256: "0".repeat(64) }));
    expect(error).toMatchObject({ kind: "network", retryable: true });
    expect(error.cause).toMatchObject({ code: "ECONNREFUSED" });
  });

  test("follows a redirect (keeping the Range), refuses one from https to http", async () => {
    const data = randomBytes(100_000);
    await writeFile(partial, data.subarray(0, 777));
    const server = await serve((req, res) => {
      if (req.url === "/m") {
        res.writeHead(302, { location: "/blob/m" });
        res.end();
      } else staticFile(data)(req, res);
    });
    await downloadFile(`${server.url}/m`, destination, expectedOf(data));
    expect(server.paths).toEqual(["/m", "/blob/m"]);
    expect(server.requests.map((h) => h.range)).toEqual(["bytes=777-", "bytes=777-"]);
    expect((await readFile(destination)).equals(data)).toBe(true);
    expect(redactUrl("https://user:pw@cdn.example/a/b?sig=1#f")).toBe("https://cdn.example/a/b?…");
  });

  test("insufficient free space is refused before any request, naming the directory and how much is needed", async () => {
    const data = randomBytes(10_000);
    await writeFile(partial, data.subarray(0, 4000));
    const server = await serve(staticFile(data));
    const error = await failure(
      downloadFile(`${server.url}/m`, destination, expectedOf(data), {
        freeSpaceMarginBytes: MiB,
        statfs: async () => ({ bavail: 100, bsize: 4096 }), // 400 KiB free
      }),
    );
    expect(error).toBeInstanceOf(InsufficientSpaceError);
    expect(error).toMatchObject({ kind: "disk-space", retryable: false, directory: dir, neededBytes: 6000 + MiB, availableBytes: 409_600 });
    expect(error.message).toContain(`not enough free space in ${dir}`);
    expect(error.message).toMatch(/1MiB needed \(5\.86KiB still to download and a 1MiB margin\), 400KiB available/);
    expect(error.cause).toMatchObject({ code: "ENOSPC", path: dir });
    expect(server.requests).toHaveLength(0);
    expect(await sizeOf(partial)).toBe(4000);
  });

  test("an abort stops the download: retryable, the partial file kept for a resume", async () => {
    const data = randomBytes(64 * 100);
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": data.length });
      drip(res, data, 64, 20);
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("shutting down")), 300);
    const error = await failure(downloadFile(`${server.url}/m`, destination, expectedOf(data), { signal: controller.signal }));
    expect(error).toMatchObject({ kind: "aborted", retryable: true });
    expect((error.cause as Error).message).toBe("shutting down");
    const kept = (await sizeOf(partial)) ?? 0;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(data.length);

    const already = await failure(downloadFile(`${server.url}/m`, destination, expectedOf(data), { signal: AbortSignal.abort() }));
    expect(already.kind).toBe("aborted");
    expect(server.requests).toHaveLength(1);
  });

  test("refuses what is not an http(s) URL or a signed length and sha256", async () => {
    await expect(downloadFile("file:///etc/passwd", destination, { length: 1, sha256: "0".repeat(64) })).rejects.toThrow(/only http and https/);
    await expect(downloadFile("http://127.0.0.1:1/m", destination, { length: -1, sha256: "0".repeat(64) })).rejects.toThrow(/non-negative integer/);
    await expect(downloadFile("http://127.0.0.1:1/m", destination, { length: 1, sha256: "abc" })).rejects.toThrow(/64 hex digits/);
  });
});

// ---------------------------------------------------------------------------
// A real small file system: a tmpfs, when this process may mount one (root in a container).

function mountTmpfs(sizeBytes: number): string | undefined {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return undefined;
  const mountPoint = join(tmpdir(), `slmops-download-tmpfs-${process.pid}`);
  try {
    execFileSync("mkdir", ["-p", mountPoint]);
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeBytes}`, "tmpfs", mountPoint], { stdio: "ignore", timeout: 10_000 });
    return mountPoint;
  } catch {
    return undefined;
  }
}

const smallDisk = mountTmpfs(4 * MiB);

afterAll(() => {
  if (smallDisk === undefined) return;
  execFileSync("umount", [smallDisk], { stdio: "ignore" });
  execFileSync("rmdir", [smallDisk]);
});

describe.skipIf(smallDisk === undefined)("on a real 4 MiB tmpfs", () => {
  const disk = smallDisk ?? "";
  let target: string;
  beforeEach(async () => {
    target = join(disk, `d${Date.now()}`, "model.onnx");
    await mkdir(join(target, ".."), { recursive: true });
  });
  afterEach(async () => {
    for (const entry of await readdir(disk)) await rm(join(disk, entry), { recursive: true, force: true });
  });

  test("the real statfs refuses a file that does not fit with its margin, before any request", async () => {
    const data = randomBytes(3 * MiB);
    const server = await serve(staticFile(data));
    const error = await failure(downloadFile(`${server.url}/m`, target, expectedOf(data), { freeSpaceMarginBytes: 2 * MiB }));
    expect(error).toBeInstanceOf(InsufficientSpaceError);
    expect(error.message).toContain(`not enough free space in ${join(target, "..")}`);
    expect(server.requests).toHaveLength(0);
  });

  test("the same file fits without the margin and downloads onto it", async () => {
    const data = randomBytes(3 * MiB);
    const server = await serve(staticFile(data));
    await downloadFile(`${server.url}/m`, target, expectedOf(data), { freeSpaceMarginBytes: 0 });
    expect((await readFile(target)).equals(data)).toBe(true);
  });

  test("a disk that fills up while writing (statfs told otherwise) fails permanent with ENOSPC, the partial kept", async () => {
    const data = randomBytes(6 * MiB);
    const server = await serve(staticFile(data));
    const error = await failure(downloadFile(`${server.url}/m`, target, expectedOf(data), { statfs: async () => ({ bavail: 1n << 30n, bsize: 4096n }) }));
    expect(error).toMatchObject({ kind: "disk-space", retryable: false });
    expect(error.message).toMatch(/no space left on the device \(ENOSPC\)/);
    expect(await sizeOf(partialPathOf(target))).toBeGreaterThan(0);
  });
});
