/**
 * Runs one worker request in a fresh child process and turns every way it can
 * end — a reply, a thrown error, a native crash, a hang — into a value.
 */
import { fork } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FailureJson } from "./report.js";
import type { MeasureProgress } from "./measure.js";
import type { WorkerReply, WorkerRequest } from "./protocol.js";

const STDERR_TAIL = 8 * 1024;

/** The compiled worker script, next to this module in dist (or in dist when running from sources). */
export function workerScript(): string {
  const beside = fileURLToPath(new URL("./worker.js", import.meta.url));
  if (existsSync(beside)) return beside;
  const built = fileURLToPath(new URL("../dist/worker.js", import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(`the benchmark worker script is missing (looked for ${beside} and ${built}); build @slmops/bench first`);
}

export interface ChildOptions {
  readonly timeoutMs: number;
  readonly onProgress?: (progress: MeasureProgress) => void;
  /** Told the worker's process id once it has started. */
  readonly onSpawn?: (pid: number) => void;
  readonly signal?: AbortSignal;
  /** Extra environment for the worker. */
  readonly env?: NodeJS.ProcessEnv;
  /** The worker script to run instead of this package's `dist/worker.js` (e.g. a bundled copy). */
  readonly workerPath?: string;
}

export type ChildOutcome =
  | { readonly ok: true; readonly reply: Exclude<WorkerReply, { type: "progress" } | { type: "failed" }> }
  | { readonly ok: false; readonly failure: FailureJson };

function seconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s` : `${ms}ms`;
}

export function runInChild(request: WorkerRequest, options: ChildOptions): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const child = fork(options.workerPath ?? workerScript(), [], {
      execPath: process.execPath,
      execArgv: [],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      serialization: "advanced",
      env: { ...process.env, ...options.env },
    });
    let stderr = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    let reply: Exclude<WorkerReply, { type: "progress" }> | undefined;
    let timedOut = false;
    let aborted = false;
    let spawnError: Error | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      child.kill("SIGKILL");
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    child.on("spawn", () => {
      if (child.pid !== undefined) options.onSpawn?.(child.pid);
      child.send(request);
    });
    child.on("message", (message: WorkerReply) => {
      if (message.type === "progress") options.onProgress?.(message.progress);
      else reply = message;
    });
    child.on("error", (error) => {
      spawnError = error;
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      const tail = stderr.trim();
      const base = { "exit-code": code, signal, ...(tail ? { stderr: tail } : {}) };
      if (timedOut) {
        resolve({ ok: false, failure: { kind: "timeout", message: `did not finish within ${seconds(options.timeoutMs)} and was killed`, ...base } });
      } else if (aborted) {
        resolve({ ok: false, failure: { kind: "error", message: "the benchmark was cancelled", ...base } });
      } else if (reply?.type === "failed") {
        resolve({ ok: false, failure: { kind: reply.kind, message: reply.message, ...base } });
      } else if (reply && code === 0) {
        resolve({ ok: true, reply });
      } else if (spawnError) {
        resolve({ ok: false, failure: { kind: "crash", message: `the benchmark process could not start: ${spawnError.message}`, ...base } });
      } else {
        const how = signal ? `was killed by ${signal}` : `exited with code ${String(code)}`;
        resolve({
          ok: false,
          failure: { kind: "crash", message: `the benchmark process ${how} before reporting (a crash in ONNX Runtime or the model)`, ...base },
        });
      }
    });
  });
}
