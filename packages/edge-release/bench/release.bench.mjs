// What a release costs for a ~100 MB variant, each phase as a ratio to the
// sha256 of the same bytes measured in the same run (the goal: at most 2x).
//
// The variant is a real ONNX decoder, so that its health-check fixture can be
// made as `slmops release build` makes it: model-maker's `medium` preset with
// 3 decoder blocks, written with external data (model.onnx ≈ 41 kB +
// model.onnx.data ≈ 102 MB).
//
//   sha256    (baseline) the sha256 of both files, read in 1 MiB pieces, the
//             next piece read while this one is hashed
//   describe  describeVariant: the variant's identity (length and sha256 of each file)
//   fixture   makeHealthCheck: the variant run in ONNX Runtime on the fixed
//             input (session creation, prefill and a decode step)
//   publish   publishRelease into a fresh repository (its fixture made
//             beforehand): every target copied to its hash-named place,
//             checked while copied, fsynced; the metadata signed and written
//   copy      (reference for publish) copyFile of the same files and an
//             fsync of each copy: the least a durable copy costs
//   build     `slmops release build` (the built CLI, a fresh process) into a
//             fresh repository: the manifest read and validated, the variant
//             described, its fixture made, the repository created and the
//             release published — what a user runs
//   verify    `slmops release verify` (the built CLI, a fresh process) of the
//             repository `build` made, from its 1.root.json: the metadata
//             through tuf-js's Updater, every target checked in place
//   cli start (reference for build and verify) `slmops --version`: the
//             CLI's own start, which every command pays
//   node start (reference) `node -e ""`: a fresh Node process doing
//             nothing, what any command written for Node pays before its
//             first line
//   sha256 process (reference for build and verify) the sha256 phase as a
//             fresh process, timed from outside: Node's start and the hash,
//             the least a command that reads every byte once can cost
//   device    tuf-js's Updater over a loopback HTTP server (same process):
//             refresh, then downloadTarget of every target file
//   download  (reference for device) the same target files over the same
//             loopback server with a plain fetch to disk, verifying nothing
//
// Each phase runs in its own process (a child of this script, or the CLI), so
// its peak RSS is its own (the CLI's through /usr/bin/time); phases interleave
// across RUNS rounds; median (min–max) of each. Prints a Markdown table.
//
//   npx turbo run bench --filter=@slmops/edge-release   (build the CLI first: cd packages/cli && npm run build)
//   RUNS=3 PHASES=sha256,verify node bench/release.bench.mjs
//   SLMOPS_CLI=../cli/dist-old/bin.js node bench/release.bench.mjs   (another build of the CLI)
/* global process, console, Buffer, URL, fetch */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { copyFile, open, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";

const RUNS = Number(process.env.RUNS ?? 5);
const ALL_PHASES = ["sha256", "describe", "fixture", "publish", "copy", "build", "verify", "cli start", "node start", "sha256 process", "device", "download"];
const PHASES = process.env.PHASES ? process.env.PHASES.split(",") : ALL_PHASES;
const CLI_PHASES = new Set(["build", "verify", "cli start"]);
/** Phases timed from outside their process: the wall time of the whole process. */
const PROCESS_PHASES = new Set(["node start", "sha256 process"]);
const FILES = ["model.onnx", "model.onnx.data"];
const MODEL = "bench-lm";
const VARIANT = "fp32";
const DEVICE = "rpi5";
const here = path.dirname(fileURLToPath(import.meta.url));
// SLMOPS_CLI=<path to bin.js> measures another build of the CLI (an A/B against a commit's build).
const cliPath = process.env.SLMOPS_CLI ? path.resolve(process.env.SLMOPS_CLI) : path.join(here, "..", "..", "cli", "dist", "bin.js");

/** The baseline: 1 MiB reads, the next one in flight while this one is hashed — as fast as this process hashes a file. */
async function sha256File(file) {
  const handle = await open(file, "r");
  try {
    const hash = createHash("sha256");
    let [current, spare] = [Buffer.allocUnsafe(1024 * 1024), Buffer.allocUnsafe(1024 * 1024)];
    let position = 0;
    let next = handle.read(current, 0, current.length, 0);
    for (;;) {
      const { bytesRead } = await next;
      if (bytesRead === 0) break;
      const piece = current.subarray(0, bytesRead);
      position += bytesRead;
      [current, spare] = [spare, current];
      next = handle.read(current, 0, current.length, position);
      hash.update(piece);
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

/** Makes the decoder with external data into `dir` (a child of its own: its build memory stays out of the measurements). */
async function makeVariant(dir) {
  const { PRESETS, makeModel } = await import("@slmops/model-maker");
  const { writeModel } = await import("@slmops/onnx");
  mkdirSync(dir, { recursive: true });
  await writeModel(path.join(dir, "model.onnx"), makeModel({ ...PRESETS.medium, layers: 3, seed: 4242 }), { externalData: true });
}

/** One phase in this (child) process; prints { ms, maxRssBytes } as JSON. */
async function child(phase, work) {
  const variantDir = path.join(work, "project", ".slmops", "variants", MODEL, VARIANT);
  const repo = path.join(work, `repo-${process.pid}`);
  let ms;
  if (phase === "sha256") {
    const start = performance.now();
    for (const file of FILES) await sha256File(path.join(variantDir, file));
    ms = performance.now() - start;
  } else if (phase === "describe") {
    const { describeVariant } = await import("@slmops/variant-identity");
    const start = performance.now();
    await describeVariant(variantDir, FILES);
    ms = performance.now() - start;
  } else if (phase === "fixture") {
    const { makeHealthCheck } = await import("@slmops/health-check");
    const start = performance.now();
    await makeHealthCheck(path.join(variantDir, "model.onnx"), { kind: "decoder" });
    ms = performance.now() - start;
  } else if (phase === "publish") {
    const release = await import("../dist/index.js");
    const { describeVariant } = await import("@slmops/variant-identity");
    const identity = await describeVariant(variantDir, FILES);
    const healthCheck = JSON.parse(readFileSync(path.join(work, "fixture.json"), "utf8"));
    const keys = Object.fromEntries(SIGNING_ROLES.map((role) => [role, release.generateSigningKey()]));
    const signers = Object.fromEntries(SIGNING_ROLES.map((role) => [role, [keys[role]]]));
    await release.initRepository(repo, { roles: Object.fromEntries(SIGNING_ROLES.map((role) => [role, { keys: [keys[role]] }])), signers });
    const start = performance.now();
    await release.publishRelease(
      repo,
      {
        channel: "stable",
        model: MODEL,
        version: "1.0.0",
        sourceCommit: "0123456789abcdef0123456789abcdef01234567",
        manifestDigest: "ab".repeat(32),
        rolloutPlan: { stages: [{ percent: 5, soakMs: 86_400_000 }, { percent: 100, soakMs: 0 }] },
        targets: [{ deviceClass: DEVICE, variant: VARIANT, directory: variantDir, identity, verdict: { outcome: "pass", figures: {} }, healthCheck }],
      },
      { signers },
    );
    ms = performance.now() - start;
  } else if (phase === "copy") {
    mkdirSync(repo, { recursive: true });
    const start = performance.now();
    for (const file of FILES) {
      const destination = path.join(repo, file);
      await copyFile(path.join(variantDir, file), destination);
      const handle = await open(destination, "r+");
      await handle.sync();
      await handle.close();
    }
    ms = performance.now() - start;
  } else if (phase === "download" || phase === "device") {
    const built = path.join(work, "repo");
    const release = await import("../dist/index.js");
    const targets = JSON.parse(readFileSync(path.join(built, "metadata", "2.targets.json"), "utf8")).signed.targets;
    const server = await serve(built);
    const url = `http://127.0.0.1:${server.address().port}`;
    const device = path.join(work, `device-${process.pid}`);
    mkdirSync(path.join(device, "metadata"), { recursive: true });
    mkdirSync(path.join(device, "targets"), { recursive: true });
    if (phase === "download") {
      const start = performance.now();
      for (const [i, [target, info]] of Object.entries(targets).entries()) {
        const stored = path.relative(built, release.storedTargetPath(built, target, info.hashes.sha256)).split(path.sep).join("/");
        const response = await fetch(`${url}/${stored}`);
        if (!response.ok || !response.body) throw new Error(`GET ${stored}: ${response.status}`);
        await pipeline(Readable.fromWeb(response.body), createWriteStream(path.join(device, String(i))));
        if (statSync(path.join(device, String(i))).size !== info.length) throw new Error(`short download of ${stored}`);
      }
      ms = performance.now() - start;
    } else {
      const { Updater } = await import("tuf-js");
      copyFileSync(path.join(release.metadataDirectory(built), "1.root.json"), path.join(device, "metadata", "root.json"));
      const start = performance.now();
      const updater = new Updater({
        metadataDir: path.join(device, "metadata"),
        targetDir: path.join(device, "targets"),
        metadataBaseUrl: `${url}/metadata`,
        targetBaseUrl: `${url}/targets`,
        config: { fetchRetries: 0 },
      });
      await updater.refresh();
      for (const target of Object.keys(targets)) {
        const info = await updater.getTargetInfo(target);
        if (!info) throw new Error(`the device found no target ${target}`);
        const file = path.join(device, "targets", info.path.replaceAll("/", "_"));
        await updater.downloadTarget(info, file);
        if (statSync(file).size !== info.length) throw new Error(`the device's copy of ${target} has the wrong length`);
      }
      ms = performance.now() - start;
    }
    await new Promise((resolve) => server.close(resolve));
    rmSync(device, { recursive: true, force: true });
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
  rmSync(repo, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
}

/** A phase that is a run of the built CLI: its wall time, and its peak RSS from /usr/bin/time. */
function cliPhase(phase, work, keys) {
  const project = path.join(work, "project");
  const repo = path.join(work, `repo-cli-${phase.replace(" ", "-")}`);
  const args = {
    build: ["release", "build", "--repo", repo, "--version", "1.0.0", "--verdict", path.join(work, "verdict.json")],
    verify: ["release", "verify", "--repo", path.join(work, "repo"), "--root", path.join(work, "repo", "metadata", "1.root.json")],
    "cli start": ["--version"],
  }[phase];
  const start = performance.now();
  const out = spawnSync("/usr/bin/time", ["-f", "maxrss-kib=%M", process.execPath, cliPath, ...args], { cwd: project, encoding: "utf8", env: { ...process.env, ...keys, NO_COLOR: "1" } });
  const ms = performance.now() - start;
  if (out.status !== 0) throw new Error(`slmops ${args.join(" ")} failed:\n${out.stdout}\n${out.stderr}`);
  if (phase === "verify" && !out.stdout.includes("target(s) checked in place")) throw new Error(`verify said:\n${out.stdout}`);
  rmSync(repo, { recursive: true, force: true });
  return { ms, maxRssBytes: Number(/maxrss-kib=(\d+)/.exec(out.stderr)?.[1]) * 1024 };
}

/** A reference timed from outside: a fresh process, its wall time and its peak RSS from /usr/bin/time. */
function processPhase(phase, work) {
  const args = phase === "node start" ? ["-e", ""] : [fileURLToPath(import.meta.url), "--child", "sha256", work];
  const start = performance.now();
  const out = spawnSync("/usr/bin/time", ["-f", "maxrss-kib=%M", process.execPath, ...args], { encoding: "utf8" });
  const ms = performance.now() - start;
  if (out.status !== 0) throw new Error(`${phase} failed:\n${out.stderr}`);
  return { ms, maxRssBytes: Number(/maxrss-kib=(\d+)/.exec(out.stderr)?.[1]) * 1024 };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The project `slmops release build` runs in: a git repository with a
 * manifest whose release sends the variant to one device class, the built
 * variant where `slmops optimize` puts it, a passing verdict and every role's
 * key (from `slmops keys init`); and the repository it builds, for verify,
 * device and download.
 */
function setUp(work) {
  const project = path.join(work, "project");
  const variantDir = path.join(project, ".slmops", "variants", MODEL, VARIANT);
  const made = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--make", variantDir], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`making the variant failed:\n${made.stderr}`);
  writeFileSync(
    path.join(project, "slmops.yaml"),
    `version: 1\nmodels:\n  - id: ${MODEL}\n    source: .slmops/variants/${MODEL}/${VARIANT}/model.onnx\n    kind: decoder\n    variants:\n      - id: ${VARIANT}\n        passes: [ { graph-optimize: { level: basic } } ]\n` +
      `devices:\n  - id: ${DEVICE}\n    runs-on: [self-hosted, linux, arm64, ${DEVICE}]\n    execution-providers: [cpu]\n` +
      `release:\n  channel: stable\n  targets: { ${DEVICE}: ${VARIANT} }\n  rollout:\n    stages: [ { percent: 5, soak: 24h }, { percent: 100 } ]\n`,
  );
  writeFileSync(path.join(work, "verdict.json"), JSON.stringify({ outcome: "pass", verdict: { pairs: [{ device: DEVICE, variant: `${MODEL}/${VARIANT}`, outcome: "pass", metrics: {} }] } }));
  const git = (...args) => execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid", ...args], { cwd: project, stdio: "ignore" });
  git("init", "--quiet");
  git("add", "slmops.yaml");
  git("commit", "--quiet", "-m", "bench project");
  let keys = {};
  if (existsSync(cliPath)) {
    const init = spawnSync(process.execPath, [cliPath, "keys", "init", "--out-env", path.join(work, "keys.env")], { cwd: project, encoding: "utf8" });
    if (init.status !== 0) throw new Error(`slmops keys init failed:\n${init.stderr}`);
    keys = Object.fromEntries(
      readFileSync(path.join(work, "keys.env"), "utf8")
        .trim()
        .split("\n")
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
  }
  return { variantDir, keys };
}

/** The repository the other phases read, and the fixture publish signs: built by the library as `slmops release build` builds it. */
async function buildRepository(work, variantDir) {
  const release = await import("../dist/index.js");
  const { describeVariant } = await import("@slmops/variant-identity");
  const { makeHealthCheck } = await import("@slmops/health-check");
  const healthCheck = await makeHealthCheck(path.join(variantDir, "model.onnx"), { kind: "decoder" });
  writeFileSync(path.join(work, "fixture.json"), JSON.stringify(healthCheck));
  const keys = Object.fromEntries(SIGNING_ROLES.map((role) => [role, release.generateSigningKey()]));
  const signers = Object.fromEntries(SIGNING_ROLES.map((role) => [role, [keys[role]]]));
  const repo = path.join(work, "repo");
  await release.initRepository(repo, { roles: Object.fromEntries(SIGNING_ROLES.map((role) => [role, { keys: [keys[role]] }])), signers });
  const identity = await describeVariant(variantDir, FILES);
  await release.publishRelease(
    repo,
    {
      channel: "stable",
      model: MODEL,
      version: "1.0.0",
      sourceCommit: "0123456789abcdef0123456789abcdef01234567",
      manifestDigest: "ab".repeat(32),
      rolloutPlan: { stages: [{ percent: 5, soakMs: 86_400_000 }, { percent: 100, soakMs: 0 }] },
      targets: [{ deviceClass: DEVICE, variant: VARIANT, directory: variantDir, identity, verdict: { outcome: "pass", figures: {} }, healthCheck }],
    },
    { signers },
  );
  return identity;
}

async function main() {
  const work = mkdtempSync(path.join(tmpdir(), "edge-release-bench-"));
  try {
    const { variantDir, keys } = setUp(work);
    const identity = await buildRepository(work, variantDir);
    const cli = existsSync(cliPath);
    const phases = PHASES.filter((phase) => cli || !CLI_PHASES.has(phase));
    if (!cli) console.log(`(${cliPath} is not built: build, verify and cli start are left out; build it with cd packages/cli && npm run build)\n`);
    const self = fileURLToPath(import.meta.url);
    const results = Object.fromEntries(phases.map((phase) => [phase, { ms: [], rss: [] }]));
    // Interleaved, so a slow moment of the shared machine falls on every phase alike.
    for (let run = 0; run < RUNS; run++) {
      for (const phase of phases) {
        let result;
        if (CLI_PHASES.has(phase)) result = cliPhase(phase, work, keys);
        else if (PROCESS_PHASES.has(phase)) result = processPhase(phase, work);
        else {
          const out = spawnSync(process.execPath, [self, "--child", phase, work], { encoding: "utf8", maxBuffer: 1 << 20 });
          if (out.status !== 0) throw new Error(`phase ${phase} failed:\n${out.stderr}`);
          result = JSON.parse(out.stdout);
        }
        results[phase].ms.push(result.ms);
        results[phase].rss.push(result.maxRssBytes);
      }
    }
    const base = median(results.sha256.ms);
    const total = identity.files.reduce((sum, f) => sum + f.bytes, 0);
    const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    console.log(`variant: ${identity.files.map((f) => `${f.name} ${f.bytes} B`).join(" + ")} = ${(total / 1e6).toFixed(1)} MB (model-maker medium, 3 layers); ${RUNS} runs per phase, interleaved, median (min–max); node ${process.version}; load average at the end ${load}\n`);
    console.log("| phase | median ms (min–max) | ratio to sha256 (median) | ratio to sha256 (min / min) | peak RSS (MiB) |");
    console.log("| --- | ---: | ---: | ---: | ---: |");
    const baseMin = Math.min(...results.sha256.ms);
    for (const phase of phases) {
      const ms = median(results[phase].ms);
      const min = Math.min(...results[phase].ms);
      const rss = Math.max(...results[phase].rss) / (1024 * 1024);
      console.log(`| ${phase} | ${ms.toFixed(0)} (${min.toFixed(0)}–${Math.max(...results[phase].ms).toFixed(0)}) | ${(ms / base).toFixed(2)}× | ${(min / baseMin).toFixed(2)}× | ${rss.toFixed(0)} |`);
    }
    const ratio = (a, b) => (results[a] && results[b] ? `${(median(results[a].ms) / median(results[b].ms)).toFixed(2)}×` : "—");
    console.log(`\npublish / copy: ${ratio("publish", "copy")}; device / download: ${ratio("device", "download")}; build / cli start: ${ratio("build", "cli start")}; verify / cli start: ${ratio("verify", "cli start")}; build / sha256 process: ${ratio("build", "sha256 process")}; verify / sha256 process: ${ratio("verify", "sha256 process")}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") {
  await child(process.argv[3], process.argv[4]);
} else if (process.argv[2] === "--make") {
  await makeVariant(process.argv[3]);
} else {
  await main();
}
