/**
 * The benchmark runner: bundled on its own (`dist/runner.js`) with
 * onnxruntime-node left out, and started by the action from a directory where
 * the installed onnxruntime-node resolves. Takes one request over IPC,
 * benchmarks, writes the report, replies, exits.
 */
import { isSourceResult, runBenchmark, writeReport } from "@slmops/bench";
import type { BenchProgress } from "@slmops/bench";
import { describeError, isConfigurationError } from "@slmops/diagnostics";
import type { RunnerReply, RunnerRequest } from "./runner-protocol.js";

function send(reply: RunnerReply): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error("the runner must be started with an IPC channel"));
    process.send(reply, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

/** One line per phase change (and at most one every 5 s while measuring), for the job log. */
function progressLines(): (p: BenchProgress) => void {
  let last = "";
  let lastAt = 0;
  return (p) => {
    const what = `${p.model}/${p.variant ?? "fp32 reference"}`;
    const key = `${what} ${p.phase}`;
    const now = Date.now();
    if (key === last && now - lastAt < 5000) return;
    last = key;
    lastAt = now;
    const counts = p.iterations !== undefined ? ` (${p.iterations} iterations, ${((p.elapsedMs ?? 0) / 1000).toFixed(1)} s)` : "";
    const message = p.message ? `: ${p.message}` : "";
    void send({ type: "progress", line: `[${p.index}/${p.total}] ${what}: ${p.phase}${counts}${message}` }).catch(() => undefined);
  };
}

async function handle(request: RunnerRequest): Promise<void> {
  try {
    const report = await runBenchmark({ ...request.job, referenceDir: request.referenceDir, onProgress: progressLines() });
    await writeReport(request.reportPath, report);
    // The fp32 source's row is the yardstick, not a variant: it is neither counted nor a failure of the step.
    const variants = report.results.filter((r) => !isSourceResult(r));
    await send({ type: "done", total: variants.length, failed: variants.filter((r) => r.status === "failed").length });
  } catch (error) {
    await send({ type: "error", configuration: isConfigurationError(error), message: describeError(error) });
  }
}

let finished = false;
// The action went away: stop rather than run on unobserved.
process.on("disconnect", () => {
  if (!finished) process.exit(2);
});
process.once("message", (request: RunnerRequest) => {
  void handle(request).finally(() => {
    finished = true;
    process.disconnect();
  });
});
