/**
 * How long `slmops agent run` waits before its next check. After a check
 * that succeeded — or failed in a way waiting cannot fix (bad metadata, a
 * release that does not verify) — the next check is one poll interval away.
 * After N consecutive failures that may pass by themselves (the network,
 * the server, a full disk), it waits `initial·2^(N−1)`, jittered by ±20% so
 * a fleet that lost its server together does not come back together, and
 * never longer than `max`.
 */
import type { CheckOutcome } from "./agent.js";
import type { AgentConfig } from "./config.js";

/** The share of the delay the jitter moves it by, either way. */
export const BACKOFF_JITTER = 0.2;

/**
 * The wait in milliseconds before the next check.
 *
 * @param outcome  the check that just ended
 * @param failures consecutive failed checks so far, this one included (the journal's `failures`)
 * @param random   a number in [0, 1), for the jitter
 */
export function nextDelay(config: Pick<AgentConfig, "pollMs" | "backoff">, outcome: CheckOutcome, failures: number, random: () => number = Math.random): number {
  if (outcome.kind !== "failed" || !outcome.retryable) return config.pollMs;
  const { initialMs, maxMs } = config.backoff;
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, failures - 1));
  const jitter = 1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * random();
  return Math.min(maxMs, Math.round(base * jitter));
}
