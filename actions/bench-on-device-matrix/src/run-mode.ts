/**
 * `mode: run`: benchmarks this runner as one device of the manifest. The
 * benchmark itself runs in a separate process started from a directory where
 * onnxruntime-node (preinstalled, or installed into the tool cache) resolves;
 * this process only prepares, watches and reports.
 */
import { fork } from "node:child_process";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import * as core from "@actions/core";
import { ensureOutputParent } from "@slmops/contained-fs";
import { ConfigurationError, getListInput, getPathInput, getStringInput, heading, paragraph, setOutputs, table, workspaceDirectory, writeSummary } from "@slmops/action-kit";
import type { BenchReport, VariantResultJson } from "@slmops/bench";
import { benchJob, missingVariants } from "@slmops/device-plan";
import { flavorFor, locateRuntime, stageBundles } from "@slmops/runtime-installer";
import { DEFAULT_VARIANTS_DIR } from "@slmops/variant-identity";
import { loadActionManifest } from "./manifest-input.js";
import type { RunnerReply, RunnerRequest } from "./runner-protocol.js";

/** The action's `dist/` directory (this bundle's). */
const distDir = dirname(fileURLToPath(import.meta.url));
/** The bundles the runner process needs, beside `dist/index.js`; both import onnxruntime-node. */
const RUNNER_FILES = ["runner.js", "worker.js"] as const;

function runRunner(script: string, request: RunnerRequest, log: (line: string) => void): Promise<Extract<RunnerReply, { type: "done" }>> {
  return new Promise((resolve, reject) => {
    const child = fork(script, [], { execPath: process.execPath, execArgv: [], stdio: ["ignore", "inherit", "pipe", "ipc"], serialization: "json" });
    let stderr = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-8192);
    });
    let reply: Exclude<RunnerReply, { type: "progress" }> | undefined;
    child.on("spawn", () => child.send(request));
    child.on("message", (message: RunnerReply) => {
      if (message.type === "progress") log(message.line);
      else reply = message;
    });
    child.on("error", (error) => reject(new Error(`the benchmark runner could not start: ${error.message}`, { cause: error })));
    child.on("close", (code, signal) => {
      if (reply?.type === "done") resolve(reply);
      else if (reply?.type === "error") reject(reply.configuration ? new ConfigurationError(reply.message) : new Error(`the benchmark failed: ${reply.message}`));
      else reject(new Error(`the benchmark runner ${signal ? `was killed by ${signal}` : `exited with code ${String(code)}`} before reporting: ${stderr.trim()}`));
    });
  });
}

/** `mode: run`. */
export async function runMode(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const workspace = workspaceDirectory(env);
  const loaded = await loadActionManifest({ checkFiles: true });
  const device = getStringInput("device", { required: true });
  const variants = getListInput("variants");
  const variantsDir = getPathInput("variants-dir")?.absolute ?? join(loaded.root, DEFAULT_VARIANTS_DIR);
  // The labels the job was routed by, unless the runner states its own (RUNNER_LABELS).
  const routedBy = env.RUNNER_LABELS ? undefined : loaded.manifest.devices.find((d) => d.id === device)?.runsOn;
  const job = benchJob(loaded.manifest, {
    device,
    variantsDir,
    ...(variants.length > 0 ? { variants } : {}),
    ...(routedBy ? { runnerLabels: routedBy } : {}),
  });
  const reportPath = getPathInput("report-path", { fallback: join("bench-reports", `${job.device.id}.json`) });
  if (!reportPath) throw new ConfigurationError("Input `report-path` is empty.");

  const missing = missingVariants(job);
  if (missing.length > 0) {
    const shown = (p: string) => relative(workspace, p).split(sep).join("/");
    throw new ConfigurationError(
      `${missing.length === 1 ? "a variant is" : `${missing.length} variants are`} not built: ` +
        missing.map((m) => `${m.model}/${m.variant} (${shown(m.path)})`).join(", ") +
        `. Download the optimize-model artifact into \`${shown(variantsDir)}\` before this step (or set \`variants-dir\`), or build them with \`slmops optimize\`.`,
    );
  }

  const runtime = await locateRuntime({
    preinstalledPath: getPathInput("onnxruntime-path", { withinBase: false })?.absolute,
    toolCache: env.RUNNER_TOOL_CACHE,
    flavor: flavorFor(job.device.executionProviders ?? ["cpu"]),
    log: (line) => core.info(line),
  });
  core.info(`onnxruntime-node ${runtime.version} (${runtime.source}) at ${runtime.packageDir}`);
  const referenceDir = getPathInput("reference-dir", { withinBase: false })?.absolute ?? join(env.RUNNER_TOOL_CACHE ?? env.RUNNER_TEMP ?? tmpdir(), "slmops-bench-references");
  // The report path is inside the checked-out tree, which may hold links to anywhere.
  await ensureOutputParent(workspace, reportPath.absolute);
  const staged = await stageBundles(
    RUNNER_FILES.map((file) => join(distDir, file)),
    runtime.packageDir,
    env.RUNNER_TEMP ?? tmpdir(),
    "slmops-bench-runner-",
  );
  let done: Extract<RunnerReply, { type: "done" }>;
  try {
    done = await runRunner(staged.path("runner.js"), { type: "bench", job, reportPath: reportPath.absolute, referenceDir }, (line) => core.info(line));
  } finally {
    await staged.remove();
  }

  const report = JSON.parse(await readFile(reportPath.absolute, "utf8")) as BenchReport;
  for (const result of report.results) {
    if (result.status === "failed") core.warning(`${result.model}/${result.variant} failed on \`${job.device.id}\` (${result.failure?.kind ?? "error"}): ${result.failure?.message ?? ""}`);
  }
  const verdict = `${job.device.id}: ${done.total - done.failed} of ${done.total} variant${done.total === 1 ? "" : "s"} benchmarked${done.failed > 0 ? `, ${done.failed} failed` : ""}; report written to ${reportPath.relative}.`;
  core.info(verdict);
  await writeSummary([heading(`slmops bench: ${job.device.id}`), paragraph(verdict), resultsTable(report.results), paragraph(fingerprintLine(report))]);
  setOutputs({ report: reportPath.relative, "failed-count": String(done.failed) });
}

function ms(value: number | undefined): string {
  if (value === undefined) return "–";
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(value >= 10 ? 1 : 2)} ms`;
}

function mib(value: number | undefined): string {
  return value === undefined ? "–" : `${(value / 1024 / 1024).toFixed(1)} MiB`;
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined ? "–" : value.toFixed(digits);
}

function resultsTable(results: readonly VariantResultJson[]): string {
  return table(
    ["variant", "status", "ttft / latency p50", "decode p50", "decode p90", "tokens/s", "load (cold)", "peak memory", "size", "KL", "top-1"],
    results.map((r) => {
      const m = r.metrics;
      return [
        `${r.model}/${r.variant}`,
        r.status === "ok" ? "ok" : `failed (${r.failure?.kind ?? "error"})`,
        ms(m.ttft ?? m["latency-p50"]),
        ms(m["decode-latency-p50"]),
        ms(m["decode-latency-p90"]),
        fixed(m["tokens-per-second"], 1),
        ms(m["load-time"]),
        mib(m["peak-memory"]),
        mib(m["model-size"]),
        fixed(m["kl-divergence"], 4),
        m["top-1-agreement"] === undefined ? "–" : `${(m["top-1-agreement"] * 100).toFixed(1)}%`,
      ];
    }),
  );
}

function fingerprintLine(report: BenchReport): string {
  const f = report.device.fingerprint;
  return `${f["cpu-model"]}, ${f["logical-cores"]} cores, ${mib(f["memory-bytes"])}, ${f.os} ${f.arch}, Node ${f["node-version"]}, ONNX Runtime ${f["onnxruntime-version"]} (${f["execution-providers"].join(", ")})`;
}
