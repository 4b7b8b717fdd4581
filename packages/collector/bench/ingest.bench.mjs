// Ingest load over loopback: DEVICES simulated devices, each with its own
// token, send REPORTS reports each (a take-up's events and field figures),
// CONCURRENCY devices at a time, to COLLECTORS collector processes sharing
// one database — SQLite (a file, synchronous=FULL) and PostgreSQL (a
// throwaway cluster with fsync on). RETRY_SHARE of the reports are sent a
// second time, as an agent does when an answer is lost: they must be answered
// "already stored". Afterwards the rows are counted: every report stored
// exactly once, no event and no inference lost or counted twice.
//
// The collectors run in child processes (they do not share the load
// generator's event loop). Figures: accepted reports per second (wall time,
// retries excluded), and the p50/p99 of request latency as the client sees it.
//
//   cd packages/collector && npx tsc -p tsconfig.build.json && node bench/ingest.bench.mjs
//   DEVICES=10000 REPORTS=3 CONCURRENCY=64 COLLECTORS=1 DATABASES=sqlite,postgres node bench/ingest.bench.mjs
/* global process, console, setTimeout */
import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { LATENCY_BUCKETS_MS, openStore, startCollector, hashToken, newToken } from "../dist/index.js";
import { startPostgres } from "../dist/test-support/postgres.js";

const DEVICES = Number(process.env.DEVICES ?? 10_000);
const REPORTS = Number(process.env.REPORTS ?? 3);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 64);
const COLLECTORS = Number(process.env.COLLECTORS ?? 1);
const RETRY_SHARE = Number(process.env.RETRY_SHARE ?? 0.05);
const DATABASES = (process.env.DATABASES ?? "sqlite,postgres").split(",").filter(Boolean);

if (process.argv[2] === "serve") await serve(process.argv[3]);
else await main();

/** A child: one collector on the database, its URL to the parent, until told to stop. */
async function serve(database) {
  const store = openStore(database);
  await store.migrate();
  const collector = await startCollector({ store, rateLimit: { burst: REPORTS * 2 + 2, perMinute: 600 }, processMetrics: false });
  process.send?.({ url: collector.url });
  process.on("message", async (message) => {
    if (message !== "stop") return;
    await collector.close();
    await store.close();
    process.exit(0);
  });
}

function classOf(i) {
  return ["rpi5", "jetson-orin", "n100"][i % 3];
}

function reportFor(device, deviceClass, n, i) {
  const fields = { device, deviceClass, model: "story-lm", channel: "stable" };
  const t = (s) => new Date(Date.UTC(2026, 11, 2, 14, 0, 0) + n * 60_000 + s * 1000).toISOString();
  const events =
    n === 0
      ? [
          { time: t(0), event: "checking", version: "1.2.0", ...fields },
          { time: t(1), event: "downloading", version: "1.3.0", stage: 0, bytes: 52_000_000, ...fields },
          { time: t(20), event: "verifying", version: "1.3.0", durationMs: 310, ...fields },
          { time: t(21), event: "installing", version: "1.3.0", ...fields },
          { time: t(22), event: "health-checking", version: "1.3.0", ...fields },
          i % 50 === 0
            ? { time: t(23), event: "rolled-back", version: "1.3.0", from: "1.2.0", reason: "health check: output differs", ...fields }
            : { time: t(23), event: "active", version: "1.3.0", from: "1.2.0", stage: 0, durationMs: 22_000, loadMs: 800, latencyMs: 35, ...fields },
        ]
      : [{ time: t(0), event: "idle", outcome: "up-to-date", version: i % 50 === 0 ? "1.2.0" : "1.3.0", ...fields }];
  const counts = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
  counts[4] = 10 + (i % 7);
  counts[5] = 20 + (n % 5);
  counts[6] = 3;
  const inferences = counts.reduce((a, b) => a + b, 0);
  return {
    id: randomUUID(),
    ...fields,
    sentAt: t(30),
    events,
    figures: { release: i % 50 === 0 ? "1.2.0" : "1.3.0", loadMs: 800, latencyBucketsMs: LATENCY_BUCKETS_MS, latencyCounts: counts, inferences, errors: i % 10 === 0 ? 1 : 0, memoryBytes: 400_000_000 },
  };
}

function send(agent, url, token, body) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(`${url}/v1/reports`, { method: "POST", agent, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, ms: performance.now() - started }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

async function runOne(kind) {
  let database;
  let cluster;
  let dir;
  if (kind === "sqlite") {
    dir = mkdtempSync(path.join(tmpdir(), "slmops-ingest-"));
    database = path.join(dir, "collector.sqlite");
  } else {
    cluster = await startPostgres({ durable: true, maxConnections: 100 });
    database = await cluster.createDatabase("ingest");
  }
  try {
    const admin = openStore(database);
    await admin.migrate();
    const tokens = new Array(DEVICES);
    const issueStarted = performance.now();
    for (let i = 0; i < DEVICES; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, DEVICES - i) }, async (_, k) => {
          tokens[i + k] = newToken();
          await admin.addToken(`dev-${String(i + k).padStart(6, "0")}`, hashToken(tokens[i + k]));
        }),
      );
    }
    const issueSeconds = (performance.now() - issueStarted) / 1000;

    const children = [];
    const urls = [];
    for (let c = 0; c < COLLECTORS; c++) {
      const child = fork(fileURLToPath(import.meta.url), ["serve", database], { env: { ...process.env }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
      children.push(child);
      urls.push(await new Promise((resolve, reject) => child.once("message", (m) => resolve(m.url)).once("exit", (code) => reject(new Error(`collector exited ${code}`)))));
    }

    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const latencies = [];
    const statuses = new Map();
    let expectedEvents = 0;
    let expectedInferences = 0;
    let retries = 0;
    let next = 0;
    const started = performance.now();
    async function worker() {
      for (;;) {
        const i = next++;
        if (i >= DEVICES) return;
        const device = `dev-${String(i).padStart(6, "0")}`;
        for (let n = 0; n < REPORTS; n++) {
          const report = reportFor(device, classOf(i), n, i);
          expectedEvents += report.events.length;
          expectedInferences += report.figures.inferences;
          const body = JSON.stringify(report);
          const url = urls[(i + n) % urls.length];
          const first = await send(agent, url, tokens[i], body);
          latencies.push(first.ms);
          statuses.set(first.status, (statuses.get(first.status) ?? 0) + 1);
          if (Math.random() < RETRY_SHARE) {
            retries++;
            const again = await send(agent, urls[(i + n + 1) % urls.length], tokens[i], body);
            latencies.push(again.ms);
            statuses.set(again.status, (statuses.get(again.status) ?? 0) + 1);
          }
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - started) / 1000;
    agent.destroy();
    for (const child of children) {
      child.send("stop");
      await new Promise((resolve) => child.once("exit", resolve));
    }

    const counts = await admin.counts();
    const status = await admin.fleetStatus();
    await admin.close();
    const inferences = status.figures.reduce((sum, f) => sum + f.inferences, 0);
    const expectedReports = DEVICES * REPORTS;
    latencies.sort((a, b) => a - b);
    const checks = {
      "202 stored": (statuses.get(202) ?? 0) === expectedReports,
      "200 already stored (retries)": (statuses.get(200) ?? 0) === retries,
      "no other status": [...statuses.keys()].every((s) => s === 200 || s === 202),
      "report rows": counts.reports === expectedReports,
      "event rows": counts.events === expectedEvents,
      "devices": counts.devices === DEVICES,
      "inferences summed": inferences === expectedInferences,
    };
    return {
      database: kind,
      devices: DEVICES,
      reports: expectedReports,
      retries,
      collectors: COLLECTORS,
      concurrency: CONCURRENCY,
      seconds: Number(seconds.toFixed(2)),
      reportsPerSecond: Math.round(expectedReports / seconds),
      p50ms: Number(quantile(latencies, 0.5).toFixed(2)),
      p99ms: Number(quantile(latencies, 0.99).toFixed(2)),
      tokensIssuedSeconds: Number(issueSeconds.toFixed(2)),
      rows: counts,
      statuses: Object.fromEntries(statuses),
      checks,
      ok: Object.values(checks).every(Boolean),
    };
  } finally {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const results = [];
  for (const kind of DATABASES) {
    const result = await runOne(kind);
    results.push(result);
    console.log(
      `${kind.padEnd(8)} ${result.reports} reports from ${result.devices} devices (+${result.retries} retries) via ${result.collectors} collector(s), ${result.concurrency} at once: ` +
        `${result.reportsPerSecond} reports/s, p50 ${result.p50ms} ms, p99 ${result.p99ms} ms; counted: ${result.ok ? "all stored once" : `MISMATCH ${JSON.stringify(result.checks)}`}`,
    );
  }
  console.log(JSON.stringify(results, null, 2));
  await new Promise((resolve) => setTimeout(resolve, 10));
  process.exit(results.every((r) => r.ok) ? 0 : 1);
}
