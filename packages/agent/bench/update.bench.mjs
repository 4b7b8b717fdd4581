// What a device update of a ~100 MB variant costs, as a ratio to a plain
// download of the same bytes from the same server in the same run; and what
// the agent costs while it waits between polls.
//
// The variant is a real ONNX decoder (model-maker's `medium` preset with 3
// decoder blocks instead of 8: model.onnx ≈ 41 kB + model.onnx.data ≈ 102 MB
// of external weights), signed into a TUF repository with its health-check
// fixture as `slmops release build` makes it, rolled out to 100%, and served
// by Debian's nginx on loopback (@slmops/test-nginx).
//
// Update cases, interleaved (the order rotates each round), RUNS rounds after
// a warm-up round, each on a fresh device (empty install directory), with a
// `sync` before each case (outside the timing) so that no case pays for
// another's dirty pages:
//
//   curl        `curl -o` of the variant's two files in one process (a plain
//               download: no hash, no fsync)
//   http.get    node's http.get piped to a file, both files, in this process
//   agent       Agent.checkOnce() in this process, with the dependencies
//               `slmops agent` gives it (downloadFile, and the health check
//               in a child process, the built CLI as `agent health-check`,
//               started when the download begins): what one update costs a
//               running `slmops agent run`
//   agent once  `slmops agent once` (the built CLI) as a fresh process, as a
//               timer or a shell would run it: Node's start, the bundle,
//               ONNX Runtime's load included
//
// The phases of `agent` come from its events, timed in this process
// (performance.now() when each event reaches the sink, and when the health
// check returns); those of `agent once` from its events' timestamps (ms).
//
// Idle: `slmops agent run` with a short `poll` on a device that is up to date
// (installed by `agent once` beforehand), and on a fresh device (its first
// check installs the release, later ones find nothing new). VmRSS from
// /proc/<pid>/status midway between polls; CPU (utime + stime from
// /proc/<pid>/stat) over IDLE_POLLS polls, divided by their number; beside
// a `node -e "setInterval(() => {}, 1000)"` measured over the same time.
//
//   cd packages/agent && npx tsc -p tsconfig.build.json && (cd ../cli && npm run build) && node bench/update.bench.mjs
//   npx turbo run bench --filter=@slmops/agent          (the same, after the build)
//   RUNS=9 IDLE_POLLS=30 POLL=1s node bench/update.bench.mjs
//   RATE_MB=25 IDLE=0 node bench/update.bench.mjs   (nginx limited to 25 MB/s per connection, a fast LAN; no idle part)
/* global process, console, setTimeout */
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";

const RUNS = Number(process.env.RUNS ?? 7);
const IDLE_POLLS = Number(process.env.IDLE_POLLS ?? 20);
const POLL = process.env.POLL ?? "1s";
const LAYERS = Number(process.env.LAYERS ?? 3);
const RATE_MB = process.env.RATE_MB === undefined ? undefined : Number(process.env.RATE_MB);
const IDLE = process.env.IDLE !== "0";

const here = path.dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const cliPath = path.join(here, "..", "..", "cli", "dist", "bin.js");
const CHANNEL = "stable";
const MODEL = "bench-lm";
const DEVICE_CLASS = "rpi5";
const VERSION = "1.0.0";
const ROLES = ["root", "targets", "snapshot", "timestamp", "rollout"];

/** The child: writes the decoder with external data (its several hundred MB of build memory stay out of the measuring process). */
async function makeVariant(dir) {
  const { PRESETS, makeModel } = await import("@slmops/model-maker");
  const { writeModel } = await import("@slmops/onnx");
  await mkdir(dir, { recursive: true });
  const result = await writeModel(path.join(dir, "model.onnx"), makeModel({ ...PRESETS.medium, layers: LAYERS, seed: 4242 }), { externalData: true });
  process.stdout.write(JSON.stringify(result));
}

async function main() {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: build the CLI first (cd packages/cli && npm run build)`);
  const work = await mkdtemp(path.join(tmpdir(), "slmops-update-bench-"));
  let nginx;
  try {
    const variantDir = path.join(work, "variant");
    const made = spawnSync(process.execPath, [self, "--make", variantDir], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`making the variant failed:\n${made.stderr}`);
    const repo = await makeRepository(work, variantDir);
    const { startNginx } = await import("@slmops/test-nginx");
    nginx = await startNginx({ root: repo.dir, ...(RATE_MB === undefined ? {} : { limitRate: Math.round(RATE_MB * 1e6) }) });
    const urls = repo.files.map((f) => `${nginx.url}/${f.stored}`);
    const bytes = repo.files.reduce((sum, f) => sum + f.bytes, 0);

    const agentLib = await import(path.join(here, "..", "dist", "index.js"));
    let deviceCount = 0;
    const newDevice = async (extra = "") => {
      const dir = path.join(work, `device-${++deviceCount}`);
      await mkdir(dir);
      const config = path.join(dir, "agent.yaml");
      writeFileSync(
        config,
        `version: 1\nrepository: ${JSON.stringify(nginx.url)}\nchannel: ${CHANNEL}\nmodel: ${MODEL}\n` +
          `device: { id: "bench-device-${deviceCount}", class: ${DEVICE_CLASS} }\ninstall-dir: install\ntrusted-root: ${JSON.stringify(repo.root)}\n` +
          `health-check: { timeout: 10m }\nevents: "-"\n${extra}`,
      );
      return { dir, config };
    };

    const phasesInProcess = [];
    const phasesCli = [];
    const health = [];
    const cases = {
      curl: async () => {
        const dir = path.join(work, "curl");
        await mkdir(dir, { recursive: true });
        const args = ["-sS", "--fail"];
        repo.files.forEach((f, i) => args.push("-o", path.join(dir, f.name), urls[i]));
        const began = performance.now();
        const status = await run("curl", args);
        const ms = performance.now() - began;
        if (status !== 0) throw new Error(`curl exited ${status}`);
        await rm(dir, { recursive: true, force: true });
        return ms;
      },
      "http.get": async () => {
        const dir = path.join(work, "get");
        await mkdir(dir, { recursive: true });
        const began = performance.now();
        for (const [i, f] of repo.files.entries()) await plainGet(urls[i], path.join(dir, f.name));
        const ms = performance.now() - began;
        await rm(dir, { recursive: true, force: true });
        return ms;
      },
      agent: async (measured) => {
        const device = await newDevice();
        const config = await agentLib.loadAgentConfig(device.config, device.config);
        const marks = [];
        let healthResult;
        const child = agentLib.healthCheckInChildProcess({ file: process.execPath, args: [cliPath, "agent", "health-check"] }, { timeoutMs: config.healthCheck.timeoutMs });
        const healthCheck = Object.assign(
          async (modelPath, fixture, options) => {
            healthResult = await child(modelPath, fixture, options);
            marks.push(["health-checked", performance.now()]);
            return healthResult;
          },
          { prepare: child.prepare, discard: child.discard },
        );
        const agent = new agentLib.Agent(config, {
          download: (url, destination, expected, options) => agentLib.downloadFile(url, destination, expected, options),
          healthCheck,
          emit: (event) => void marks.push([event.event, performance.now(), event]),
        });
        const began = performance.now();
        const outcome = await agent.checkOnce();
        const ms = performance.now() - began;
        if (outcome.kind !== "updated") throw new Error(`the in-process agent did not update: ${JSON.stringify(outcome)}`);
        if (measured) {
          const at = Object.fromEntries(marks.map(([name, t]) => [name, t]));
          phasesInProcess.push({
            "start (recover, journal)": at.checking - began,
            "metadata refresh (tuf-js)": at.downloading - at.checking,
            download: at.verifying - at.downloading,
            verify: at.installing - at.verifying,
            install: at["health-checking"] - at.installing,
            "health check": at["health-checked"] - at["health-checking"],
            switch: at.active - at["health-checked"],
            "end (journal)": began + ms - at.active,
          });
          health.push({ loadMs: healthResult.loadMs, latencyMs: healthResult.latencyMs });
        }
        await rm(device.dir, { recursive: true, force: true });
        return ms;
      },
      "agent once": async (measured) => {
        const device = await newDevice();
        const startedAt = Date.now();
        const began = performance.now();
        const { status, stdout, stderr } = await run(process.execPath, [cliPath, "agent", "once", "--config", device.config], { capture: true, env: { ...process.env, NO_COLOR: "1" } });
        const ms = performance.now() - began;
        const endedAt = startedAt + ms;
        const events = stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
        if (status !== 0 || !events.some((e) => e.event === "active")) throw new Error(`slmops agent once did not update (exit ${status}):\n${stdout}\n${stderr}`);
        if (measured) {
          const at = Object.fromEntries(events.map((e) => [e.event, Date.parse(e.time)]));
          phasesCli.push({
            "process start, load, recover": at.checking - startedAt,
            "metadata refresh (tuf-js)": at.downloading - at.checking,
            download: at.verifying - at.downloading,
            verify: at.installing - at.verifying,
            install: at["health-checking"] - at.installing,
            "health check + switch": at.active - at["health-checking"],
            "end (journal, exit)": endedAt - at.active,
          });
        }
        await rm(device.dir, { recursive: true, force: true });
        return ms;
      },
    };
    const names = Object.keys(cases);
    const times = Object.fromEntries(names.map((n) => [n, []]));
    for (let round = 0; round <= RUNS; round++) {
      const order = names.map((_, i) => names[(i + round) % names.length]);
      for (const name of order) {
        spawnSync("sync");
        const ms = await cases[name](round > 0);
        if (round > 0) times[name].push(ms); // round 0 warms up
      }
    }

    const idle = IDLE ? await measureIdle(newDevice) : undefined;

    const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    console.log(`update of ${(bytes / 1e6).toFixed(1)} MB (${repo.files.map((f) => `${f.name} ${f.bytes} B`).join(" + ")}; model-maker medium, ${LAYERS} layers) from nginx on loopback${RATE_MB === undefined ? "" : ` limited to ${RATE_MB} MB/s per connection`}; ${RUNS} rounds after a warm-up, cases interleaved; node ${process.version}, ${process.platform}/${process.arch}; load average at the end ${load}\n`);
    const base = { curl: stats(times.curl), "http.get": stats(times["http.get"]) };
    console.log("| case | min ms | median ms | min / curl min | median / curl median | min / http.get min | median / http.get median |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const name of names) {
      const s = stats(times[name]);
      console.log(`| ${name} | ${s.min.toFixed(0)} | ${s.median.toFixed(0)} | ${(s.min / base.curl.min).toFixed(2)}× | ${(s.median / base.curl.median).toFixed(2)}× | ${(s.min / base["http.get"].min).toFixed(2)}× | ${(s.median / base["http.get"].median).toFixed(2)}× |`);
    }
    console.log(`\nPhases of \`agent\` (in this process), ms; ratio of the median to the median http.get (${base["http.get"].median.toFixed(0)} ms):\n`);
    phaseTable(phasesInProcess, base["http.get"].median);
    const h = { load: stats(health.map((x) => x.loadMs)), latency: stats(health.map((x) => x.latencyMs)) };
    console.log(`\nhealth check: session creation (loadMs) min ${h.load.min.toFixed(0)} / median ${h.load.median.toFixed(0)} ms; the fixture's run (latencyMs, median of 3 timed runs) min ${h.latency.min.toFixed(0)} / median ${h.latency.median.toFixed(0)} ms`);
    console.log(`\nPhases of \`agent once\` (from its events' timestamps), ms; ratio of the median to the median curl (${base.curl.median.toFixed(0)} ms):\n`);
    phaseTable(phasesCli, base.curl.median);

    if (!idle) return;
    console.log(`\nIdle \`slmops agent run\` (poll ${POLL}), VmRSS midway between polls (median of ${IDLE_POLLS} samples, first–last) and CPU per poll over ${IDLE_POLLS} polls that found nothing new:\n`);
    console.log("| process | VmRSS MiB median (first–last) | VmHWM MiB | CPU ms per poll | RSS / node baseline |");
    console.log("| --- | ---: | ---: | ---: | ---: |");
    for (const row of idle) {
      console.log(`| ${row.name} | ${row.rss.median.toFixed(1)} (${row.rss.first.toFixed(1)}–${row.rss.last.toFixed(1)}) | ${row.hwm.toFixed(1)} | ${row.cpuPerPoll.toFixed(2)} | ${(row.rss.median / idle.at(-1).rss.median).toFixed(2)}× |`);
    }
    console.log(`\n(the baseline's "CPU per poll" is its CPU over the same wall time divided by the same number of polls; clock tick ${clockTickMs()} ms)`);
  } finally {
    await nginx?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** A signed repository with the variant released on stable to 100% of devices, as `slmops release build` and `promote` leave it. */
async function makeRepository(work, variantDir) {
  const edge = await import("@slmops/edge-release");
  const { makeHealthCheck } = await import("@slmops/health-check");
  const { describeVariant } = await import("@slmops/variant-identity");
  const { newCohortSalt } = await import("@slmops/rollout-cohort");
  const dir = path.join(work, "repo");
  const keys = Object.fromEntries(ROLES.map((role) => [role, edge.generateSigningKey()]));
  const signers = Object.fromEntries(ROLES.map((role) => [role, [keys[role]]]));
  await edge.initRepository(dir, { roles: Object.fromEntries(ROLES.map((role) => [role, { keys: [keys[role]] }])), signers });
  const identity = await describeVariant(variantDir, ["model.onnx", "model.onnx.data"], { what: "model file" });
  const healthCheck = await makeHealthCheck(path.join(variantDir, "model.onnx"), { kind: "decoder" });
  const release = {
    channel: CHANNEL,
    model: MODEL,
    version: VERSION,
    sourceCommit: "0123456789abcdef0123456789abcdef01234567",
    manifestDigest: "ab".repeat(32),
    rolloutPlan: { stages: [{ percent: 100, soakMs: 0 }] },
    targets: [{ deviceClass: DEVICE_CLASS, variant: "fp32", directory: variantDir, identity, verdict: { outcome: "pass", figures: {} }, healthCheck }],
  };
  const { paths } = await edge.publishRelease(dir, release, { signers });
  await edge.setRolloutState(dir, { channel: CHANNEL, model: MODEL, version: VERSION, stage: 0, salt: newCohortSalt(), halted: false }, { signers });
  const files = identity.files.map((file) => {
    const target = paths.find((p) => p.endsWith(`/${file.name}`));
    return { name: file.name, bytes: file.bytes, stored: path.relative(dir, edge.storedTargetPath(dir, target, file.sha256)).split(path.sep).join("/") };
  });
  return { dir, root: path.join(edge.metadataDirectory(dir), "1.root.json"), files };
}

/** The plain reference: http.get piped to a file. */
function plainGet(url, target) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${url}: ${res.statusCode}`));
        pipeline(res, createWriteStream(target)).then(resolve, reject);
      })
      .on("error", reject);
  });
}

/** Runs a command to its end; resolves with its exit status (and output when `capture`). */
function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", options.capture ? "pipe" : "ignore", options.capture ? "pipe" : "inherit"], env: options.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk) => (stdout += chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (status) => resolve(options.capture ? { status, stdout, stderr } : status));
  });
}

// ---------------------------------------------------------------- idle

let tickMs;
function clockTickMs() {
  tickMs ??= 1000 / Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);
  return tickMs;
}

function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * clockTickMs(); // utime, stime (fields 14, 15 of stat)
}

function statusKiB(pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? NaN);
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/**
 * `slmops agent run` on an up-to-date device and on a fresh one, with a
 * `node -e` doing nothing beside each, over the same polls.
 */
async function measureIdle(newDevice) {
  const { parseDuration } = await import("@slmops/units");
  const pollMs = parseDuration(POLL);
  const rows = [];
  const upToDate = await newDevice(`poll: ${POLL}\n`);
  const installed = await run(process.execPath, [cliPath, "agent", "once", "--config", upToDate.config], { capture: true });
  if (installed.status !== 0) throw new Error(`slmops agent once failed:\n${installed.stderr}`);
  const fresh = await newDevice(`poll: ${POLL}\n`);
  let baseline;
  for (const [name, device] of [
    ["agent run, device up to date at start", upToDate],
    ["agent run, after installing the release itself", fresh],
  ]) {
    const child = spawn(process.execPath, [cliPath, "agent", "run", "--config", device.config], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, NO_COLOR: "1" } });
    const idleNode = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    const idles = [];
    let buffer = "";
    let failed;
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (!line.startsWith("{")) continue;
        const event = JSON.parse(line);
        if (event.event === "idle") idles.push(performance.now());
        if (event.event === "failed" || event.event === "rolled-back") failed = line;
      }
    });
    try {
      // Two checks to settle (the fresh device updates in its first), then IDLE_POLLS more.
      const waitIdles = async (n) => {
        while (idles.length < n) {
          if (failed) throw new Error(`agent run: ${failed}`);
          if (child.exitCode !== null) throw new Error(`agent run exited ${child.exitCode}`);
          await sleep(10);
        }
      };
      const start = 2;
      await waitIdles(start);
      const cpu0 = cpuMs(child.pid);
      const base0 = cpuMs(idleNode.pid);
      const rss = [];
      for (let k = start; k < start + IDLE_POLLS; k++) {
        await waitIdles(k);
        await sleep(pollMs / 2);
        rss.push(statusKiB(child.pid, "VmRSS") / 1024);
      }
      await waitIdles(start + IDLE_POLLS);
      const cpu = cpuMs(child.pid) - cpu0;
      const baseCpu = cpuMs(idleNode.pid) - base0;
      const hwm = statusKiB(child.pid, "VmHWM") / 1024;
      const sorted = [...rss].sort((a, b) => a - b);
      rows.push({ name, rss: { median: sorted[sorted.length >> 1], first: rss[0], last: rss.at(-1) }, hwm, cpuPerPoll: cpu / IDLE_POLLS });
      const baseRss = statusKiB(idleNode.pid, "VmRSS") / 1024;
      baseline ??= { name: "baseline: node -e \"setInterval(() => {}, 1000)\"", rss: { median: baseRss, first: baseRss, last: baseRss }, hwm: statusKiB(idleNode.pid, "VmHWM") / 1024, cpuPerPoll: baseCpu / IDLE_POLLS };
    } finally {
      child.kill("SIGTERM");
      idleNode.kill("SIGTERM");
      await new Promise((done) => (child.exitCode !== null ? done() : child.once("close", done)));
    }
  }
  rows.push(baseline);
  return rows;
}

// ---------------------------------------------------------------- report

function stats(xs) {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return { min: sorted[0], median: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2 };
}

function phaseTable(runs, reference) {
  const names = Object.keys(runs[0]);
  console.log(`| phase | min ms | median ms | median / reference |`);
  console.log("| --- | ---: | ---: | ---: |");
  for (const name of names) {
    const s = stats(runs.map((r) => r[name]));
    console.log(`| ${name} | ${s.min.toFixed(0)} | ${s.median.toFixed(0)} | ${(s.median / reference).toFixed(2)}× |`);
  }
}

if (process.argv[2] === "--make") await makeVariant(process.argv[3]);
else await main();
