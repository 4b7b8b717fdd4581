/**
 * The release's health check in a process of its own. ONNX Runtime then
 * never lives in the agent: a model that crashes it, or hangs it, costs the
 * check and not the agent, a hung check is killed at its timeout rather
 * than left running, and the agent's resident memory between checks is its
 * own (not a freed session's).
 *
 * The protocol: the child reads one JSON object from stdin, `{ modelPath,
 * fixture, options }`, runs `@slmops/health-check`'s `runHealthCheck`, and
 * writes its result as one JSON object to stdout. `slmops agent
 * health-check` is that child.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { HealthCheckFunction } from "./agent.js";

/** How to start the child: a program and its arguments, e.g. Node, the CLI and `agent health-check`. */
export interface HealthCheckCommand {
  readonly file: string;
  readonly args: readonly string[];
}

/** The most the child may print; a result is a few hundred bytes. */
export const MAX_HEALTH_CHECK_OUTPUT_BYTES = 1024 * 1024;

type Result = Awaited<ReturnType<HealthCheckFunction>>;

interface Started {
  readonly child: ChildProcess;
  /**
   * Settles with what the child wrote: as soon as its first line is a
   * result (`answered`: the child may still be tearing ONNX Runtime down),
   * else when it has closed or could not start.
   */
  readonly ended: Promise<Ended>;
}

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
  readonly err: string;
  readonly problem?: string;
  readonly answered?: true;
}

/** Starts the child with every listener attached at once, so that nothing it does before the request is missed. */
function start(command: HealthCheckCommand): Started {
  const child = spawn(command.file, [...command.args], { stdio: ["pipe", "pipe", "pipe"] });
  const out: Buffer[] = [];
  let outBytes = 0;
  let err = "";
  const ended = new Promise<Ended>((resolve) => {
    let problem: string | undefined;
    /** Whether the first line is still to come; once it came, only the close settles. */
    let firstLineToCome = true;
    child.stdout!.on("data", (chunk: Buffer) => {
      outBytes += chunk.byteLength;
      if (outBytes <= MAX_HEALTH_CHECK_OUTPUT_BYTES) out.push(chunk);
      else if (problem === undefined) {
        problem = `its process wrote more than ${MAX_HEALTH_CHECK_OUTPUT_BYTES} bytes`;
        child.kill("SIGKILL");
      }
      if (firstLineToCome && problem === undefined && chunk.includes(0x0a)) {
        firstLineToCome = false;
        const text = Buffer.concat(out).toString("utf8");
        const line = text.slice(0, text.indexOf("\n")).trim();
        if (isResult(parseJson(line))) resolve({ code: null, signal: null, out: line, err, answered: true });
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      if (err.length < 4096) err += chunk.toString("utf8");
    });
    child.on("error", (error) => {
      problem ??= `its process could not start: ${error.message}`;
      resolve({ code: null, signal: null, out: "", err, problem });
    });
    child.on("close", (code, signal) => resolve({ code, signal, out: Buffer.concat(out).toString("utf8").trim(), err, ...(problem ? { problem } : {}) }));
  });
  child.stdin!.on("error", () => undefined); // a child that exits before reading: its end says why
  return { child, ended };
}

/**
 * A health check run by `command`, killed (SIGKILL) when it has not answered
 * `timeoutMs` after its request. `prepare()` starts the child ahead (while
 * the update downloads, so that Node's start and ONNX Runtime's load are not
 * waited for afterwards); `discard()` ends a started child the update did
 * not use.
 */
export function healthCheckInChildProcess(command: HealthCheckCommand, options: { readonly timeoutMs: number }): HealthCheckFunction {
  let prepared: Started | undefined;
  const check = async (modelPath: string, fixture: unknown, checkOptions: { readonly budgetMs?: number }): Promise<Result> => {
    const started = prepared ?? start(command);
    prepared = undefined;
    const { child } = started;
    if (child.exitCode === null && child.signalCode === null) child.stdin!.end(JSON.stringify({ modelPath, fixture, options: checkOptions }));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), options.timeoutMs);
    });
    const ended = await Promise.race([started.ended, timedOut]);
    clearTimeout(timer);
    if (ended === "timeout") {
      child.kill("SIGKILL");
      return { ok: false, problems: [`did not finish within ${options.timeoutMs} ms (its process was killed)`] };
    }
    // The result is in; what the child has left to do is release its session and exit.
    if (ended.answered) child.kill("SIGKILL");
    if (ended.problem) return { ok: false, problems: [ended.problem] };
    if (ended.signal) return { ok: false, problems: [`its process was ended by ${ended.signal} (ONNX Runtime crashed on the model?)`] };
    const parsed = parseJson(ended.out);
    if (!isResult(parsed)) {
      const why = firstLine(ended.err) || (ended.out === "" ? "no output" : "output that is not a result");
      return { ok: false, problems: [`its process exited with code ${ended.code ?? "?"} and ${why}`] };
    }
    return {
      ok: parsed.ok,
      problems: parsed.problems.map((p) => p.slice(0, 1000)),
      ...(parsed.latencyMs !== undefined ? { latencyMs: parsed.latencyMs } : {}),
      ...(parsed.loadMs !== undefined ? { loadMs: parsed.loadMs } : {}),
    };
  };
  return Object.assign(check, {
    prepare: () => {
      prepared ??= start(command);
    },
    discard: () => {
      prepared?.child.kill("SIGKILL");
      prepared = undefined;
    },
  });
}
function isResult(value: unknown): value is Result {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.ok === "boolean" &&
    Array.isArray(v.problems) &&
    v.problems.every((p) => typeof p === "string") &&
    (v.latencyMs === undefined || typeof v.latencyMs === "number") &&
    (v.loadMs === undefined || typeof v.loadMs === "number")
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0]?.slice(0, 300) ?? "";
}
