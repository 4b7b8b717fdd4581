/**
 * The health check's child process, with real processes standing in for
 * `slmops agent health-check`: a result is passed through (its known fields
 * only), and a crash, a hang, a failure, garbage or a flood of output each
 * become a failed check with its reason, never an error of the agent.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { healthCheckInChildProcess, MAX_HEALTH_CHECK_OUTPUT_BYTES } from "./health-check-process.js";

/** A child that runs `script` with the request (parsed) as `request`. */
const child = (script: string, timeoutMs = 30_000) =>
  healthCheckInChildProcess(
    { file: process.execPath, args: ["-e", `let d = ""; process.stdin.on("data", (c) => (d += c)); process.stdin.on("end", () => { const request = JSON.parse(d); ${script} });`] },
    { timeoutMs },
  );

/** Waits (up to 2 s) for process `pid` to be gone, and fails if it is still there. */
async function expectGone(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
      await sleep(20);
    } catch {
      break;
    }
  }
  expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
}

describe("the health check in a child process", () => {
  it("sends the request and passes the result through, its known fields only", async () => {
    const check = child(`console.log(JSON.stringify({ ok: request.modelPath === "/m/model.onnx" && request.options.budgetMs === 40 && request.fixture.x === 1, problems: [], latencyMs: 3.5, loadMs: 20, kind: "decoder", secret: "x" }));`);
    expect(await check("/m/model.onnx", { x: 1 }, { budgetMs: 40 })).toEqual({ ok: true, problems: [], latencyMs: 3.5, loadMs: 20 });
    const failing = child(`console.log(JSON.stringify({ ok: false, problems: ["the top tokens differ"], kind: "decoder" }));`);
    expect(await failing("/m/model.onnx", {}, {})).toEqual({ ok: false, problems: ["the top tokens differ"] });
  });

  it("takes the result as soon as its line is in, and ends a child that lingers after it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "slmops-health-answer-"));
    const pidFile = join(dir, "pid");
    // Tearing down stands in for a session's release: the result is written, then the child stays.
    const check = child(`require("node:fs").writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); console.log(JSON.stringify({ ok: true, problems: [], latencyMs: 2 })); setInterval(() => {}, 1000);`, 20_000);
    expect(await check("/m", {}, {})).toEqual({ ok: true, problems: [], latencyMs: 2 });
    const pid = Number(readFileSync(pidFile, "utf8"));
    await expectGone(pid);
    // A first line that is not a result still waits for the end, and says what it was.
    expect(await child(`console.log("loading"); setTimeout(() => process.exit(4), 100);`)("/m", {}, {})).toEqual({ ok: false, problems: ["its process exited with code 4 and output that is not a result"] });
  });

  it("reports a crash of ONNX Runtime (the process killed by a signal) as a failed check", async () => {
    const result = await child(`process.kill(process.pid, "SIGSEGV");`)("/m/model.onnx", {}, {});
    expect(result).toEqual({ ok: false, problems: ["its process was ended by SIGSEGV (ONNX Runtime crashed on the model?)"] });
  });

  it("kills a check that hangs at its timeout", async () => {
    const result = await child(`setInterval(() => {}, 1000);`, 500)("/m/model.onnx", {}, {});
    expect(result).toEqual({ ok: false, problems: ["did not finish within 500 ms (its process was killed)"] });
  });

  it("reports an exit without a result with the child's first line of stderr, or what it printed", async () => {
    expect(await child(`console.error("error: ONNX Runtime could not load the model\\nat stack"); process.exit(1);`)("/m", {}, {})).toEqual({
      ok: false,
      problems: ["its process exited with code 1 and error: ONNX Runtime could not load the model"],
    });
    expect(await child(`console.log("hello"); process.exit(3);`)("/m", {}, {})).toEqual({ ok: false, problems: ["its process exited with code 3 and output that is not a result"] });
    expect(await child(`console.log(JSON.stringify({ ok: "yes", problems: [] }));`)("/m", {}, {})).toMatchObject({ ok: false });
  });

  it("stops reading a child that floods its output", async () => {
    const result = await child(`const line = "x".repeat(65536); for (let i = 0; i < 64; i++) process.stdout.write(line); setInterval(() => {}, 1000);`)("/m", {}, {});
    expect(result).toEqual({ ok: false, problems: [`its process wrote more than ${MAX_HEALTH_CHECK_OUTPUT_BYTES} bytes`] });
  });

  it("uses the child prepare() started ahead, and discard() ends one that was not used", async () => {
    const dir = mkdtempSync(join(tmpdir(), "slmops-health-child-"));
    const pidFile = join(dir, "pid");
    // The child says how long it had been running when its request came.
    const script = (file: string) =>
      `require("node:fs").writeFileSync(${JSON.stringify(file)}, String(process.pid)); const born = Date.now(); let d = ""; process.stdin.on("data", (c) => (d += c)); process.stdin.on("end", () => console.log(JSON.stringify({ ok: true, problems: [], latencyMs: Date.now() - born })));`;
    const check = healthCheckInChildProcess({ file: process.execPath, args: ["-e", script(pidFile)] }, { timeoutMs: 30_000 });
    check.prepare!();
    await sleep(1500);
    expect((await check("/m", {}, {})).latencyMs).toBeGreaterThanOrEqual(1000);
    // Not prepared: a child is started for the check, and gets its request as soon as it reads.
    expect((await check("/m", {}, {})).latencyMs).toBeLessThan(1000);

    const unused = join(dir, "unused");
    const other = healthCheckInChildProcess({ file: process.execPath, args: ["-e", `${script(unused)} setInterval(() => {}, 1000);`] }, { timeoutMs: 30_000 });
    other.prepare!();
    for (let i = 0; i < 100 && !readFileSync(unused, { flag: "a+" }).length; i++) await sleep(50);
    const pid = Number(readFileSync(unused, "utf8"));
    expect(() => process.kill(pid, 0)).not.toThrow();
    other.discard!();
    await expectGone(pid);
  });

  it("reports a program that cannot start", async () => {
    const result = await healthCheckInChildProcess({ file: "/nonexistent/node", args: [] }, { timeoutMs: 5000 })("/m", {}, {});
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatch(/^its process could not start: spawn \/nonexistent\/node ENOENT/);
  });
});
