// What a release costs for a 100 MB variant (a model file and its external
// data, random bytes), each phase as a ratio to the sha256 of the same bytes
// measured in the same run (the goal: at most 2x):
//
//   describe  describeVariant: the variant's identity (length and sha256 of each file)
//   publish   publishRelease into a fresh repository, copying the targets
//   device    tuf-js's Updater over loopback HTTP: refresh, then download and
//             verify every target file of the release
//   copy      (reference for publish) copyFile of the same files and an fsync
//             of each copy: the least a durable copy costs
//   download  (reference for device) the same target files over the same
//             loopback server with a plain fetch to disk, verifying nothing
//
// Each phase runs in its own child process (so its peak RSS is its own);
// the median of RUNS runs is reported. Prints a Markdown table.
//
//   npx turbo run bench --filter=@slmops/edge-release
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { copyFile, open, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";

const MB = 1000 * 1000;
const FILES = [
  { name: "model.onnx", bytes: 2 * MB },
  { name: "model.onnx.data", bytes: 98 * MB },
];
const RUNS = Number(process.env.RUNS ?? 5);
const PHASES = ["sha256", "describe", "publish", "copy", "device", "download"];

async function sha256File(file) {
  const handle = await open(file, "r");
  try {
    const hash = createHash("sha256");
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
    return hash.digest("hex");
  } finally {
    await handle.close();
  }
}

function serve(root) {
  const server = createServer((request, response) => {
    const file = path.join(root, decodeURIComponent(new URL(request.url ?? "/", "http://127.0.0.1").pathname));
    if (request.method !== "GET" || !file.startsWith(root + path.sep)) return void response.writeHead(404).end();
    stat(file).then(
      (stats) => {
        if (!stats.isFile()) return void response.writeHead(404).end();
        response.writeHead(200, { "content-length": stats.size, "content-type": "application/octet-stream" });
        createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(response);
      },
      () => response.writeHead(404).end(),
    );
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const SIGNING_ROLES = ["root", "targets", "snapshot", "timestamp", "rollout"];

/** One phase in this (child) process; prints { ms, maxRssBytes } as JSON. */
async function child(phase, work, variantDir) {
  const { describeVariant } = await import("@slmops/variant-identity");
  const release = await import("../dist/index.js");
  const identity = phase === "sha256" || phase === "describe" ? undefined : await describeVariant(variantDir, FILES.map((f) => f.name));
  const keys = Object.fromEntries(SIGNING_ROLES.map((role) => [role, release.generateSigningKey()]));
  const roles = Object.fromEntries(SIGNING_ROLES.map((role) => [role, { keys: [keys[role]] }]));
  const signers = Object.fromEntries(SIGNING_ROLES.map((role) => [role, [keys[role]]]));
  const repo = path.join(work, `repo-${phase}-${process.pid}`);
  const makeRelease = () => ({
    channel: "stable",
    model: "bench-llm",
    version: "1.0.0",
    sourceCommit: "0123456789abcdef0123456789abcdef01234567",
    manifestDigest: "ab".repeat(32),
    rolloutPlan: { stages: [{ percent: 5, soak: "24h" }, { percent: 100 }] },
    targets: [{ deviceClass: "rpi5", variant: "int4", directory: variantDir, identity, verdict: { outcome: "pass", figures: {} }, healthCheck: null }],
  });
  let ms;
  if (phase === "sha256") {
    const start = performance.now();
    for (const file of FILES) await sha256File(path.join(variantDir, file.name));
    ms = performance.now() - start;
  } else if (phase === "describe") {
    const start = performance.now();
    await describeVariant(variantDir, FILES.map((f) => f.name));
    ms = performance.now() - start;
  } else if (phase === "publish") {
    await release.initRepository(repo, { roles, signers });
    const start = performance.now();
    await release.publishRelease(repo, makeRelease(), { signers });
    ms = performance.now() - start;
  } else if (phase === "copy") {
    mkdirSync(repo, { recursive: true });
    const start = performance.now();
    for (const file of FILES) {
      const destination = path.join(repo, file.name);
      await copyFile(path.join(variantDir, file.name), destination);
      const handle = await open(destination, "r+");
      await handle.sync();
      await handle.close();
    }
    ms = performance.now() - start;
  } else if (phase === "download") {
    await release.initRepository(repo, { roles, signers });
    const { paths } = await release.publishRelease(repo, makeRelease(), { signers });
    const server = await serve(repo);
    const url = `http://127.0.0.1:${server.address().port}`;
    const device = path.join(work, `device-${process.pid}`);
    mkdirSync(device, { recursive: true });
    const start = performance.now();
    for (const [i, target] of paths.entries()) {
      const file = identity.files[i];
      const stored = path.relative(repo, release.storedTargetPath(repo, target, file.sha256)).split(path.sep).join("/");
      const response = await fetch(`${url}/${stored}`);
      if (!response.ok || !response.body) throw new Error(`GET ${stored}: ${response.status}`);
      await pipeline(Readable.fromWeb(response.body), createWriteStream(path.join(device, String(i))));
      if (statSync(path.join(device, String(i))).size !== file.bytes) throw new Error(`short download of ${stored}`);
    }
    ms = performance.now() - start;
    await new Promise((resolve) => server.close(resolve));
    rmSync(device, { recursive: true, force: true });
  } else {
    await release.initRepository(repo, { roles, signers });
    const { paths } = await release.publishRelease(repo, makeRelease(), { signers });
    const { Updater } = await import("tuf-js");
    const server = await serve(repo);
    const url = `http://127.0.0.1:${server.address().port}`;
    const device = path.join(work, `device-${process.pid}`);
    mkdirSync(path.join(device, "metadata"), { recursive: true });
    mkdirSync(path.join(device, "targets"), { recursive: true });
    copyFileSync(path.join(release.metadataDirectory(repo), "1.root.json"), path.join(device, "metadata", "root.json"));
    const start = performance.now();
    const updater = new Updater({
      metadataDir: path.join(device, "metadata"),
      targetDir: path.join(device, "targets"),
      metadataBaseUrl: `${url}/metadata`,
      targetBaseUrl: `${url}/targets`,
      config: { fetchRetries: 0 },
    });
    await updater.refresh();
    for (const target of paths) {
      const info = await updater.getTargetInfo(target);
      if (!info) throw new Error(`the device found no target ${target}`);
      const file = path.join(device, "targets", info.path.replaceAll("/", "_"));
      await updater.downloadTarget(info, file);
      if (statSync(file).size !== info.length) throw new Error(`the device's copy of ${target} has the wrong length`);
    }
    ms = performance.now() - start;
    await new Promise((resolve) => server.close(resolve));
    rmSync(device, { recursive: true, force: true });
  }
  rmSync(repo, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main() {
  const work = mkdtempSync(path.join(tmpdir(), "edge-release-bench-"));
  try {
    const variantDir = path.join(work, "variant");
    mkdirSync(variantDir);
    for (const file of FILES) {
      const chunk = 8 * MB;
      const handle = await open(path.join(variantDir, file.name), "w");
      for (let written = 0; written < file.bytes; written += chunk) await handle.write(randomBytes(Math.min(chunk, file.bytes - written)));
      await handle.close();
    }
    const self = fileURLToPath(import.meta.url);
    const results = Object.fromEntries(PHASES.map((phase) => [phase, { ms: [], rss: [] }]));
    // Interleaved, so a slow moment of the shared machine falls on every phase alike.
    for (let run = 0; run < RUNS; run++) {
      for (const phase of PHASES) {
        const out = spawnSync(process.execPath, [self, "--child", phase, work, variantDir], { encoding: "utf8", maxBuffer: 1 << 20 });
        if (out.status !== 0) throw new Error(`phase ${phase} failed:\n${out.stderr}`);
        const { ms, maxRssBytes } = JSON.parse(out.stdout);
        results[phase].ms.push(ms);
        results[phase].rss.push(maxRssBytes);
      }
    }
    const base = median(results.sha256.ms);
    const total = FILES.reduce((sum, f) => sum + f.bytes, 0);
    console.log(`variant: ${FILES.map((f) => `${f.name} ${f.bytes / MB} MB`).join(" + ")} = ${total / MB} MB; ${RUNS} runs per phase, median\n`);
    console.log("| phase | median ms (min–max) | ratio to sha256 | peak RSS (MiB) |");
    console.log("| --- | ---: | ---: | ---: |");
    for (const phase of PHASES) {
      const ms = median(results[phase].ms);
      const rss = Math.max(...results[phase].rss) / (1024 * 1024);
      const range = `${Math.min(...results[phase].ms).toFixed(0)}–${Math.max(...results[phase].ms).toFixed(0)}`;
      console.log(`| ${phase} | ${ms.toFixed(0)} (${range}) | ${(ms / base).toFixed(2)}× | ${rss.toFixed(0)} |`);
    }
    const ratio = (a, b) => (median(results[a].ms) / median(results[b].ms)).toFixed(2);
    console.log(`\npublish / copy: ${ratio("publish", "copy")}×; device / download: ${ratio("device", "download")}×`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") {
  await child(process.argv[3], process.argv[4], process.argv[5]);
} else {
  await main();
}
