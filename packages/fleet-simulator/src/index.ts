/**
 * @slmops/fleet-simulator — a fleet on one machine. Each simulated device is
 * the real agent (`createDeviceAgent`, what `slmops agent run` runs) with a
 * device id, a configuration file read by `loadAgentConfig`, an install
 * directory and a collector token of its own; the health check is
 * `@slmops/health-check` in ONNX Runtime. Beside each agent runs an
 * "application": it loads the device's active model, runs it, and records
 * its latency with the agent's `FieldRecorder`, as a real application does
 * (`runApplications`; which inference it runs is the caller's).
 * Devices are checked concurrently, a bounded number at a time.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  activeModel,
  createDeviceAgent,
  FieldRecorder,
  loadAgentConfig,
  readJournal,
  type ActiveModel,
  type AgentConfig,
  type CheckOutcome,
  type DeviceAgent,
  type HealthCheckFunction,
} from "@slmops/agent";
import { runHealthCheck } from "@slmops/health-check";

/**
 * How ONNX Runtime runs on a simulated device: one thread inside an
 * operator, since many devices share this machine's cores (a device's own
 * runtime would use all of its cores).
 */
export const SIMULATED_SESSION = { intraOpThreads: 1, interOpThreads: 1 } as const;

export interface DeviceSpec {
  readonly id: string;
  readonly deviceClass: string;
  /** The device's collector token (`slmops collector token add`), when the fleet reports to a collector. */
  readonly token?: string;
}

export interface FleetOptions {
  /** Where the devices live: `<dir>/<device id>/` holds each one's configuration, token and install directory. */
  readonly dir: string;
  /** The release repository's URL, as the devices reach it. */
  readonly repository: string;
  /** The repository's `1.root.json`, the trust anchor every device is installed with. */
  readonly trustedRoot: string;
  readonly channel: string;
  readonly model: string;
  readonly devices: readonly DeviceSpec[];
  /** The collector's base URL; each device then needs its `token`. */
  readonly collector?: string;
  /** Devices checked at the same time (default 8). */
  readonly concurrency?: number;
  /** The health check (default: `runHealthCheck` of `@slmops/health-check`, with {@link SIMULATED_SESSION}). */
  readonly healthCheck?: HealthCheckFunction;
}

export interface SimulatedDevice {
  readonly id: string;
  readonly deviceClass: string;
  readonly config: AgentConfig;
  readonly agent: DeviceAgent;
  /** The application's field figures. */
  readonly figures: FieldRecorder;
  /** The last check's outcome. */
  lastOutcome: CheckOutcome | undefined;
}

/** What one round of checks did: each device's outcome, and problems sending its reports. */
export interface Round {
  readonly outcomes: ReadonlyMap<string, CheckOutcome>;
  readonly reportProblems: ReadonlyMap<string, string>;
}

/** Runs `work` on every item, at most `limit` at a time, in order of start. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(runners);
}

function yamlString(value: string): string {
  return JSON.stringify(value);
}

export class SimulatedFleet {
  readonly devices: readonly SimulatedDevice[];
  readonly #concurrency: number;

  private constructor(devices: readonly SimulatedDevice[], concurrency: number) {
    this.devices = devices;
    this.#concurrency = concurrency;
  }

  /** Writes each device's configuration (and token), and reads it back as the agent does. */
  static async create(options: FleetOptions): Promise<SimulatedFleet> {
    const healthCheck: HealthCheckFunction = options.healthCheck ?? ((modelPath, fixture, o) => runHealthCheck(modelPath, fixture, { ...o, session: SIMULATED_SESSION }));
    const ids = new Set<string>();
    const devices: SimulatedDevice[] = [];
    for (const spec of options.devices) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(spec.id) || ids.has(spec.id)) throw new Error(`device ids are distinct file names: ${JSON.stringify(spec.id)}`);
      ids.add(spec.id);
      const home = join(options.dir, spec.id);
      await mkdir(home, { recursive: true });
      const lines = [
        "version: 1",
        `repository: ${yamlString(options.repository)}`,
        `channel: ${options.channel}`,
        `model: ${options.model}`,
        `device: { id: ${yamlString(spec.id)}, class: ${spec.deviceClass} }`,
        "install-dir: install",
        `trusted-root: ${yamlString(options.trustedRoot)}`,
        "download: { read-timeout: 10s }",
        "events: events.jsonl",
      ];
      if (options.collector) {
        if (spec.token === undefined) throw new Error(`device ${spec.id} reports to a collector and needs its token`);
        await writeFile(join(home, "collector.token"), `${spec.token}\n`, { mode: 0o600 });
        lines.push(`collector: { url: ${yamlString(options.collector)}, token-file: collector.token }`);
      }
      const file = join(home, "agent.yaml");
      await writeFile(file, `${lines.join("\n")}\n`);
      const config = await loadAgentConfig(file);
      const device: SimulatedDevice = {
        id: spec.id,
        deviceClass: spec.deviceClass,
        config,
        agent: createDeviceAgent(config, { healthCheck }),
        figures: new FieldRecorder(config.installDir, { flushEveryMs: 0 }),
        lastOutcome: undefined,
      };
      devices.push(device);
    }
    return new SimulatedFleet(devices, options.concurrency ?? 8);
  }

  /** One check on every device (the agent's `checkOnce`, reports sent after it), a bounded number at a time. */
  async checkAll(): Promise<Round> {
    const outcomes = new Map<string, CheckOutcome>();
    const reportProblems = new Map<string, string>();
    await eachLimited(this.devices, this.#concurrency, async (device) => {
      const outcome = await device.agent.checkOnce();
      device.lastOutcome = outcome;
      outcomes.set(device.id, outcome);
      const flush = device.agent.lastFlush;
      if (flush?.problem) reportProblems.set(device.id, flush.problem);
    });
    return { outcomes, reportProblems };
  }

  /**
   * The application on every device that has a model: loads the active
   * model, runs it `runs` times through `infer` (which returns the run's
   * latency in milliseconds), and records load time and latencies for the
   * active version; then writes the figures for the agent to report.
   */
  async runApplications(
    infer: (model: ActiveModel, device: SimulatedDevice) => Promise<{ loadMs: number; latenciesMs: readonly number[] }>,
    options: { readonly only?: (model: ActiveModel, device: SimulatedDevice) => boolean } = {},
  ): Promise<number> {
    let ran = 0;
    await eachLimited(this.devices, this.#concurrency, async (device) => {
      const model = await activeModel(device.config.installDir);
      if (!model || (options.only && !options.only(model, device))) return;
      const { loadMs, latenciesMs } = await infer(model, device);
      device.figures.recordLoad(model.version, loadMs);
      for (const ms of latenciesMs) device.figures.recordInference(model.version, ms);
      await device.figures.flush();
      ran++;
    });
    return ran;
  }

  /** Each device's active version (undefined before its first install). */
  async activeVersions(): Promise<Map<string, string | undefined>> {
    const out = new Map<string, string | undefined>();
    for (const device of this.devices) out.set(device.id, (await activeModel(device.config.installDir))?.version);
    return out;
  }

  /** The versions each device recorded as failed here (not retried until a newer release). */
  async failedVersions(): Promise<Map<string, readonly string[]>> {
    const out = new Map<string, readonly string[]>();
    for (const device of this.devices) out.set(device.id, Object.keys((await readJournal(device.agent.layout.journal)).journal.failed));
    return out;
  }
}
