/**
 * What the agent reports: one JSON line per transition, to standard output
 * or a file, and to the collector when one is configured. Only the fields
 * listed here ever leave the device — states, versions, sizes, durations,
 * counts and reasons the agent itself wrote; never a prompt, eval data or a
 * model's output. {@link agentEvent} drops anything else, so a field cannot
 * be added by accident.
 */
import { appendFile } from "node:fs/promises";

/** The transitions of an update, and the outcome of a check that changed nothing. */
export const AGENT_EVENTS = ["checking", "downloading", "verifying", "installing", "health-checking", "active", "rolled-back", "failed", "idle"] as const;
export type AgentEventName = (typeof AGENT_EVENTS)[number];

/** Why a check changed nothing. */
export type IdleOutcome = "up-to-date" | "not-in-stage" | "halted" | "no-rollout" | "failed-here" | "no-variant";

export interface AgentEvent {
  readonly time: string;
  readonly event: AgentEventName;
  readonly device: string;
  readonly deviceClass: string;
  readonly model: string;
  readonly channel: string;
  /** The version the transition concerns. */
  readonly version?: string;
  /** The version active before (for `active` and `rolled-back`). */
  readonly from?: string;
  readonly stage?: number;
  readonly percent?: number;
  readonly outcome?: IdleOutcome;
  readonly bytes?: number;
  readonly durationMs?: number;
  /** The health check's figures. */
  readonly loadMs?: number;
  readonly latencyMs?: number;
  /** Set on `failed` and `rolled-back`: what went wrong, in the agent's words. */
  readonly reason?: string;
  /** Whether the next attempt may succeed without a new release (network, disk). */
  readonly retryable?: boolean;
  readonly retryInMs?: number;
}

/** The fields an event may carry: the allow-list. */
export const EVENT_FIELDS: readonly (keyof AgentEvent)[] = [
  "time", "event", "device", "deviceClass", "model", "channel", "version", "from", "stage", "percent", "outcome", "bytes", "durationMs", "loadMs", "latencyMs", "reason", "retryable", "retryInMs",
];

const MAX_REASON = 500;

/** The event with only allow-listed fields, each of the type it must have; reasons are cut short. */
export function agentEvent(fields: Readonly<Record<string, unknown>>): AgentEvent {
  const out: Record<string, unknown> = {};
  for (const key of EVENT_FIELDS) {
    const value = fields[key];
    if (value === undefined) continue;
    if (key === "reason" && typeof value === "string") out[key] = value.length > MAX_REASON ? `${value.slice(0, MAX_REASON - 1)}…` : value;
    else if (typeof value === "number" && Number.isFinite(value)) out[key] = Number.isInteger(value) ? value : Math.round(value * 10) / 10;
    else if (typeof value === "string" || typeof value === "boolean") out[key] = value;
  }
  if (!(AGENT_EVENTS as readonly unknown[]).includes(out.event)) throw new TypeError(`unknown agent event ${String(out.event)}`);
  return out as unknown as AgentEvent;
}

export type EventSink = (event: AgentEvent) => Promise<void> | void;

/** JSON lines to standard output (`-`) or appended to a file. */
export function jsonLinesSink(target: string, stdout: { write(text: string): unknown } = process.stdout): EventSink {
  if (target === "-") return (event) => void stdout.write(`${JSON.stringify(event)}\n`);
  return (event) => appendFile(target, `${JSON.stringify(event)}\n`);
}
