/** A device's agent configuration for the collector tests: its own directory, token file and install directory. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentConfig } from "../config.js";

export function collectorDevice(id: string, token: string, url: string, deviceClass = "rpi5"): AgentConfig {
  const dir = mkdtempSync(join(tmpdir(), "reporter-device-"));
  writeFileSync(join(dir, "token"), `${token}\n`);
  return {
    file: join(dir, "agent.yaml"),
    repository: "http://127.0.0.1:9",
    channel: "stable",
    model: "story-lm",
    device: { id, class: deviceClass },
    installDir: join(dir, "install"),
    trustedRoot: join(dir, "1.root.json"),
    pollMs: 1000,
    healthCheck: { budgetMs: undefined, timeoutMs: 1000 },
    download: { readTimeoutMs: 1000 },
    backoff: { initialMs: 10, maxMs: 100 },
    collector: { url, tokenFile: join(dir, "token") },
    events: "-",
  };
}
