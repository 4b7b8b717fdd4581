import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AGENT_EVENTS, agentEvent, EVENT_FIELDS, jsonLinesSink } from "./events.js";

const identity = { time: "2025-01-02T03:04:05.000Z", device: "kiosk-7", deviceClass: "rpi5", model: "story-lm", channel: "stable" };

describe("agentEvent", () => {
  it("keeps every allow-listed field of the type it must have", () => {
    const event = agentEvent({ ...identity, event: "active", version: "1.1.0", from: "1.0.0", stage: 1, percent: 50, bytes: 2_097_152, durationMs: 812, loadMs: 40, latencyMs: 3, retryable: false, retryInMs: 30_000 });
    expect(event).toEqual({ ...identity, event: "active", version: "1.1.0", from: "1.0.0", stage: 1, percent: 50, bytes: 2_097_152, durationMs: 812, loadMs: 40, latencyMs: 3, retryable: false, retryInMs: 30_000 });
    expect(Object.keys(event).every((k) => (EVENT_FIELDS as readonly string[]).includes(k))).toBe(true);
  });

  it("drops a prompt, a model's output, eval data and anything not on the allow-list", () => {
    const event = agentEvent({
      ...identity,
      event: "failed",
      reason: "health check failed",
      prompt: "Once upon a time",
      output: "there was a secret",
      completion: "…",
      evalSample: { text: "the eval set" },
      token: "collector-token",
      env: { SLMOPS_ROOT_KEY: "k" },
    });
    expect(event).toEqual({ ...identity, event: "failed", reason: "health check failed" });
    const text = JSON.stringify(event);
    for (const leaked of ["Once upon a time", "secret", "eval set", "collector-token", "SLMOPS_ROOT_KEY"]) expect(text).not.toContain(leaked);
  });

  it("drops an allow-listed field that carries an object, an array, a function or a non-finite number", () => {
    const event = agentEvent({
      ...identity,
      event: "rolled-back",
      version: { toString: () => "1.0.0", prompt: "hidden" },
      from: ["1.0.0", "a prompt"],
      reason: { prompt: "hidden in a reason" },
      latencyMs: Number.NaN,
      loadMs: Number.POSITIVE_INFINITY,
      bytes: () => 1,
      stage: 2,
    });
    expect(event).toEqual({ ...identity, event: "rolled-back", stage: 2 });
    expect(JSON.stringify(event)).not.toContain("hidden");
  });

  it("rejects an event name it does not know, and a missing one", () => {
    expect(() => agentEvent({ ...identity, event: "prompted" })).toThrow(/unknown agent event prompted/);
    expect(() => agentEvent({ ...identity, event: "Active" })).toThrow(TypeError);
    expect(() => agentEvent({ ...identity })).toThrow(/unknown agent event/);
    expect(() => agentEvent({ ...identity, event: 1 })).toThrow(/unknown agent event/);
    for (const name of AGENT_EVENTS) expect(agentEvent({ ...identity, event: name }).event).toBe(name);
  });

  it("cuts a long reason to 500 characters, marked as cut; a short one is kept whole", () => {
    const long = `health check failed: ${"top ids differ; ".repeat(100)}`;
    const event = agentEvent({ ...identity, event: "failed", reason: long });
    expect(event.reason).toHaveLength(500);
    expect(event.reason?.endsWith("…")).toBe(true);
    expect(long.startsWith((event.reason ?? "").slice(0, -1))).toBe(true);
    const exact = "x".repeat(500);
    expect(agentEvent({ ...identity, event: "failed", reason: exact }).reason).toBe(exact);
    expect(agentEvent({ ...identity, event: "failed", reason: `${exact}y` }).reason).toBe(`${"x".repeat(499)}…`);
  });

  it("rounds a non-integer number to one decimal; integers are kept", () => {
    const event = agentEvent({ ...identity, event: "active", latencyMs: 3.14159, loadMs: 41.96, durationMs: 0.04, bytes: 1024, percent: 12.5 });
    expect(event.latencyMs).toBe(3.1);
    expect(event.loadMs).toBe(42);
    expect(event.durationMs).toBe(0);
    expect(event.bytes).toBe(1024);
    expect(event.percent).toBe(12.5);
  });
});

describe("jsonLinesSink", () => {
  it("writes one JSON line per event, to standard output or appended to a file", async () => {
    const lines: string[] = [];
    const stdout = jsonLinesSink("-", { write: (text: string) => lines.push(text) });
    await stdout(agentEvent({ ...identity, event: "checking" }));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith("}\n")).toBe(true);
    expect(lines[0]?.slice(0, -1)).not.toContain("\n");
    expect(JSON.parse(lines[0] ?? "")).toEqual({ ...identity, event: "checking" });

    const file = join(mkdtempSync(join(tmpdir(), "agent-events-")), "events.jsonl");
    const sink = jsonLinesSink(file);
    await sink(agentEvent({ ...identity, event: "checking" }));
    await sink(agentEvent({ ...identity, event: "idle", outcome: "up-to-date", version: "1.0.0" }));
    const written = readFileSync(file, "utf8").split("\n");
    expect(written).toHaveLength(3);
    expect(written[2]).toBe("");
    expect(JSON.parse(written[1] ?? "")).toEqual({ ...identity, event: "idle", outcome: "up-to-date", version: "1.0.0" });
  });
});
