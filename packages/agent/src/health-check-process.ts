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
import { spawn } from "node:child_process";
import type { HealthCheckFunction } from "./agent.js";

/** How to start the child: a program and its arguments, e.g. Node, the CLI and `agent health-check`. */
export interface HealthCheckCommand {
  readonly file: string;
  readonly args: readonly string[];
}

/** The most the child may print; a result is a few hundred bytes. */
export const MAX_HEALTH_CHECK_OUTPUT_BYTES = 1024 * 1024;

type Result = Awaited<ReturnType<HealthCheckFunction>>;

/** A health check run by `command`, killed (SIGKILL) when it has not answered after `timeoutMs`. */
export function healthCheckInChildProcess(command: HealthCheckCommand, options: { readonly timeoutMs: number }): HealthCheckFunction {
  return (modelPath, fixture, checkOptions) =>
    new Promise<Result>((resolve) => {
      const child = spawn(command.file, [...command.args], { stdio: ["pipe", "pipe", "pipe"] });
      const out: Buffer[] = [];
      let outBytes = 0;
      let errText = "";
      let settled = false;
      const finish = (result: Result) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        resolve(result);
      };
      const timer = setTimeout(() => finish({ ok: false, problems: [`did not finish within ${options.timeoutMs} ms (its process was killed)`] }), options.timeoutMs);
      child.stdout.on("data", (chunk: Buffer) => {
        outBytes += chunk.byteLength;
        if (outBytes > MAX_HEALTH_CHECK_OUTPUT_BYTES) finish({ ok: false, problems: [`its process wrote more than ${MAX_HEALTH_CHECK_OUTPUT_BYTES} bytes`] });
        else out.push(chunk);
      });
      child.stderr.on("data", (chunk: Buffer) => {
        if (errText.length < 4096) errText += chunk.toString("utf8");
      });
      child.on("error", (error) => finish({ ok: false, problems: [`its process could not start: ${error.message}`] }));
      child.on("close", (code, signal) => {
        if (signal) return finish({ ok: false, problems: [`its process was ended by ${signal} (ONNX Runtime crashed on the model?)`] });
        const text = Buffer.concat(out).toString("utf8").trim();
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        if (!isResult(parsed)) {
          const why = firstLine(errText) || (text === "" ? "no output" : "output that is not a result");
          return finish({ ok: false, problems: [`its process exited with code ${code ?? "?"} and ${why}`] });
        }
        finish({
          ok: parsed.ok,
          problems: parsed.problems.map((p) => p.slice(0, 1000)),
          ...(parsed.latencyMs !== undefined ? { latencyMs: parsed.latencyMs } : {}),
          ...(parsed.loadMs !== undefined ? { loadMs: parsed.loadMs } : {}),
        });
      });
      child.stdin.on("error", () => undefined); // a child that exits before reading: reported by "close"
      child.stdin.end(JSON.stringify({ modelPath, fixture, options: checkOptions }));
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

function firstLine(text: string): string {
  return text.trim().split("\n")[0]?.slice(0, 300) ?? "";
}
