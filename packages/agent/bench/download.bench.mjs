// What the agent's verified download costs for a 100 MB file, as a ratio to
// a plain `http.get` piped to a file of the same bytes from the same server,
// measured in the same run:
//
//   plain     http.get(url) piped to fs.createWriteStream: no hash, no fsync,
//             no rename, no checks (the reference)
//   download  downloadFile: free-space check, the body streamed to the partial
//             file with the read timeout and the length cap, sha256 on the
//             way, fsync, rename, directory fsync
//   +sha+sync (information) the plain pipe plus a sha256 of the stream and an
//             fsync at the end: the least a verified durable download costs
//
// The server runs in a child process (so it does not share the client's event
// loop) and serves the bytes from memory over loopback. RUNS repetitions of
// each, interleaved; min and median in ms, and the ratios of both to plain.
//
//   cd packages/agent && npx tsc -p tsconfig.build.json && node bench/download.bench.mjs
//   RUNS=9 MB=200 node bench/download.bench.mjs
/* global process, console */
import { fork } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";

const RUNS = Number(process.env.RUNS ?? 7);
const BYTES = Number(process.env.MB ?? 100) * 1000 * 1000;

if (process.argv[2] === "serve") serve();
else await main();

/** The child: serves BYTES random bytes (with Range, as nginx would) and tells the parent its port and sha256. */
function serve() {
  const data = randomBytes(BYTES);
  const sha256 = createHash("sha256").update(data).digest("hex");
  const server = http.createServer((req, res) => {
    const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? "")?.[1] ?? 0);
    const headers = { "content-length": data.length - start, "content-type": "application/octet-stream" };
    if (start > 0) res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${data.length - 1}/${data.length}` });
    else res.writeHead(200, headers);
    res.end(data.subarray(start));
  });
  server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port, sha256 }));
  process.on("disconnect", () => process.exit(0));
}

async function main() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const { downloadFile } = await import(path.join(here, "..", "dist", "download.js"));
  const child = fork(fileURLToPath(import.meta.url), ["serve"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const { port, sha256 } = await new Promise((resolve) => child.once("message", resolve));
  const url = `http://127.0.0.1:${port}/targets/model.onnx.data`;
  const dir = await mkdtemp(path.join(tmpdir(), "slmops-download-bench-"));
  const target = path.join(dir, "model.onnx.data");
  const expected = { length: BYTES, sha256 };
  const cases = {
    plain: () => plainGet(url, target),
    download: () => downloadFile(url, target, expected),
    "+sha+sync": () => hashedGet(url, target, expected),
  };
  const times = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  try {
    for (const run of [0, ...Array.from({ length: RUNS }, (_, i) => i + 1)]) {
      for (const [name, fn] of Object.entries(cases)) {
        await rm(target, { force: true });
        const began = performance.now();
        await fn();
        const ms = performance.now() - began;
        if (run > 0) times[name].push(ms); // run 0 warms up
      }
    }
  } finally {
    child.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
  report(times);
}

/** The reference: http.get piped to a file. */
function plainGet(url, target) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => pipeline(res, createWriteStream(target)).then(resolve, reject)).on("error", reject);
  });
}

/** The reference plus what verification and durability need at the least: a sha256 of the stream and an fsync. */
function hashedGet(url, target, expected) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const hash = createHash("sha256");
        const tap = new Transform({ transform: (chunk, _enc, done) => (hash.update(chunk), done(null, chunk)) });
        pipeline(res, tap, createWriteStream(target))
          .then(async () => {
            const handle = await open(target, "r+");
            await handle.sync();
            await handle.close();
            if (hash.digest("hex") !== expected.sha256) throw new Error("hash mismatch");
          })
          .then(resolve, reject);
      })
      .on("error", reject);
  });
}

function report(times) {
  const stats = (xs) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return { min: sorted[0], median: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2 };
  };
  const base = stats(times.plain);
  console.log(`download of ${BYTES / 1e6} MB over loopback, ${RUNS} runs each (after a warm-up), node ${process.version}\n`);
  console.log("| case | min ms | median ms | min / plain min | median / plain median |");
  console.log("|---|---:|---:|---:|---:|");
  for (const [name, xs] of Object.entries(times)) {
    const s = stats(xs);
    console.log(`| ${name} | ${s.min.toFixed(0)} | ${s.median.toFixed(0)} | ${(s.min / base.min).toFixed(2)} | ${(s.median / base.median).toFixed(2)} |`);
  }
}
