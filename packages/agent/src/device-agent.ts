/**
 * The agent as a device runs it: {@link Agent} with its sinks — the JSON
 * lines of the `events` setting, and the collector's outbox when a collector
 * is configured, sent after each check (with the application's field
 * figures). `slmops agent run | once` is this, in a loop or once; a fleet
 * simulation runs many of them in one process.
 */
import { Agent, type CheckOutcome, type DownloadFunction, type HealthCheckFunction } from "./agent.js";
import { CollectorReporter, type FlushResult } from "./collector-reporter.js";
import type { AgentConfig } from "./config.js";
import { downloadFile } from "./download.js";
import { jsonLinesSink } from "./events.js";
import type { AgentLayout } from "./layout.js";

export interface DeviceAgentOptions {
  /** Runs a release's health check: `@slmops/health-check`'s `runHealthCheck` on a device. */
  readonly healthCheck: HealthCheckFunction;
  /** Where `events: -` writes (default process.stdout). */
  readonly stdout?: { write(text: string): unknown };
  /** Told when reports could not all be sent (they wait in the outbox); never fails the check. */
  readonly onReportProblem?: (problem: string, pending: number) => void;
  /** The model download (default: the agent's resumable {@link downloadFile}). */
  readonly download?: DownloadFunction;
  readonly now?: () => Date;
}

export interface DeviceAgent {
  readonly layout: AgentLayout;
  /** One check, then the reports sent (when a collector is configured). */
  checkOnce(): Promise<CheckOutcome>;
  /** What the last check's sending did, when a collector is configured. */
  readonly lastFlush: FlushResult | undefined;
}

export function createDeviceAgent(config: AgentConfig, options: DeviceAgentOptions): DeviceAgent {
  const lines = jsonLinesSink(config.events, options.stdout);
  const agent = new Agent(config, {
    download: options.download ?? ((url, destination, expected, o) => downloadFile(url, destination, expected, o)),
    healthCheck: options.healthCheck,
    emit: async (event) => {
      await lines(event);
      reporter?.record(event);
    },
    ...(options.now ? { now: options.now } : {}),
  });
  const reporter = config.collector ? new CollectorReporter(config, agent.layout) : undefined;
  let lastFlush: FlushResult | undefined;
  return {
    layout: agent.layout,
    get lastFlush() {
      return lastFlush;
    },
    async checkOnce() {
      const outcome = await agent.checkOnce();
      if (reporter) {
        // A collector that cannot be reached never fails the device's check: the reports wait in the outbox.
        lastFlush = await reporter.flush().catch((error: unknown) => ({ sent: 0, dropped: 0, pending: -1, problem: error instanceof Error ? error.message : String(error) }));
        if (lastFlush.problem) options.onReportProblem?.(lastFlush.problem, lastFlush.pending);
      }
      return outcome;
    },
  };
}
