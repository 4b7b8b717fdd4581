/**
 * A simulated device: its own install directory and configuration, running
 * the real `slmops agent` (the built CLI) as a child process, as systemd
 * would; its events read back from its JSON lines.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentEvent } from "../events.js";
import { CHANNEL, DEVICE_CLASS, MODEL } from "@slmops/test-release-repository";

export const cliPath = join(import.meta.dirname, "..", "..", "..", "cli", "dist", "bin.js");

export interface Device {
  readonly dir: string;
  readonly config: string;
  readonly installDir: string;
  readonly id: string;
  /** `slmops agent once`: its exit status and the events it wrote. */
  once(): { status: number | null; events: AgentEvent[]; stderr: string };
  /** `slmops agent once`, SIGKILLed as soon as it reports `event` (or `afterMs` later). */
  killAt(event: AgentEvent["event"], options?: { afterMs?: number }): Promise<{ killed: boolean; events: AgentEvent[] }>;
  status(): { status: number | null; json: unknown };
}

export function parseEvents(text: string): AgentEvent[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as AgentEvent);
}

export function makeDevice(options: { repository: string; root: string; id?: string; extra?: string; installDir?: string }): Device {
  const dir = mkdtempSync(join(tmpdir(), "agent-device-"));
  const id = options.id ?? `device-${dir.slice(-6)}`;
  const config = join(dir, "agent.yaml");
  writeFileSync(
    config,
    `version: 1\nrepository: ${JSON.stringify(options.repository)}\nchannel: ${CHANNEL}\nmodel: ${MODEL}\ndevice: { id: ${JSON.stringify(id)}, class: ${DEVICE_CLASS} }\ninstall-dir: ${JSON.stringify(options.installDir ?? "install")}\ntrusted-root: ${JSON.stringify(options.root)}\ndownload: { read-timeout: 5s }\n${options.extra ?? ""}`,
  );
  const env = { ...process.env, NO_COLOR: "1" };
  return {
    dir,
    config,
    installDir: options.installDir ?? join(dir, "install"),
    id,
    once() {
      const r = spawnSync(process.execPath, [cliPath, "agent", "once", "--config", config], { encoding: "utf8", env, timeout: 120_000 });
      return { status: r.status, events: parseEvents(r.stdout), stderr: r.stderr };
    },
    killAt(event, options = {}) {
      const child = spawn(process.execPath, [cliPath, "agent", "once", "--config", config], { env, stdio: ["ignore", "pipe", "pipe"] });
      let buffer = "";
      let killed = false;
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        buffer += chunk;
        if (!killed && parseEvents(buffer).some((e) => e.event === event)) {
          killed = true;
          if (options.afterMs === undefined) child.kill("SIGKILL");
          else setTimeout(() => child.kill("SIGKILL"), options.afterMs);
        }
      });
      child.stderr.resume();
      return new Promise((resolve) => child.on("close", () => resolve({ killed, events: parseEvents(buffer) })));
    },
    status() {
      const r = spawnSync(process.execPath, [cliPath, "agent", "status", "--json", "--config", config], { encoding: "utf8", env });
      return { status: r.status, json: r.status === 0 ? (JSON.parse(r.stdout) as unknown) : undefined };
    },
  };
}

/** The active version of a device, read from its `active` link and release record. */
export function activeVersion(device: Device): string | undefined {
  try {
    const record = JSON.parse(readFileSync(join(device.installDir, "active", "release.json"), "utf8")) as { version: string };
    return record.version;
  } catch {
    return undefined;
  }
}
