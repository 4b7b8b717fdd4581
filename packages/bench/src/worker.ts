/**
 * Benchmark worker: run by the harness in a fresh child process (with
 * `process.execPath`), it takes one request over IPC, does it, replies, and
 * exits. A native crash or a hang takes down only this process.
 */
import { isConfigurationError } from "@slmops/diagnostics";
import { computeReference, measureModel } from "./measure.js";
import type { WorkerReply, WorkerRequest } from "./protocol.js";

function send(reply: WorkerReply): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error("the benchmark worker must be started with an IPC channel"));
    process.send(reply, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const causes: string[] = [];
  let cause: unknown = error.cause;
  while (cause instanceof Error && causes.length < 3) {
    if (!error.message.includes(cause.message)) causes.push(cause.message);
    cause = cause.cause;
  }
  return [error.message, ...causes].join(": ");
}

async function handle(request: WorkerRequest): Promise<void> {
  try {
    if (request.type === "measure") {
      // At most five iteration updates a second; phase changes always go through.
      let lastIterationUpdate = -Infinity;
      const measurement = await measureModel(request.job, (progress) => {
        if (progress.phase === "measure") {
          const now = performance.now();
          if (now - lastIterationUpdate < 200) return;
          lastIterationUpdate = now;
        }
        void send({ type: "progress", progress }).catch(() => undefined);
      });
      await send({ type: "measured", measurement });
    } else {
      await computeReference(request.job);
      await send({ type: "reference-written" });
    }
  } catch (error) {
    await send({ type: "failed", kind: isConfigurationError(error) ? "configuration" : "error", message: describe(error) });
  }
}

let finished = false;

// The harness went away (its IPC channel closed): stop rather than run on unobserved.
process.on("disconnect", () => {
  if (!finished) process.exit(2);
});

process.once("message", (request: WorkerRequest) => {
  void handle(request).finally(() => {
    finished = true;
    process.disconnect();
  });
});
