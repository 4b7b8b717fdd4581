import { lstat } from "node:fs/promises";
import { dirname, isAbsolute, posix, relative, resolve } from "node:path";
import { ConfigurationError, terminalText } from "@slmops/diagnostics";
import type { AgentConfig, CheckOutcome } from "@slmops/agent";
import type { Command, CommandContext } from "../command.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { styleFor } from "../io.js";
import { loadValidManifest } from "../load-manifest.js";
import { manifestOptionWording, resolveManifestPath } from "../manifest-path.js";
import { stringOption } from "../options.js";

const ACTIONS = ["run", "once", "status", "init"] as const;
type Action = (typeof ACTIONS)[number];

/** The configuration `run`, `once` and `status` read when `--config` is not given. */
const CONFIG_VARIABLE = "SLMOPS_AGENT_CONFIG";

export const agentCommand: Command = {
  name: "agent",
  summary: "the device agent: take up releases, verify, install, health-check, roll back (run, once, status, init)",
  description:
    "Runs on each edge device. Each check refreshes the release repository's signed metadata (TUF),\n" +
    "and when the rollout's current stage includes this device, downloads the release's variant for its\n" +
    "device class (resumable), verifies it, installs it beside the active version, runs the release's\n" +
    "health check, and only then switches `<install-dir>/active` to it. A failed health check leaves the\n" +
    "device on its version and is not retried until a newer release; a run killed at any point is\n" +
    "finished or undone by the next. Each transition is one JSON line (the `events` setting).\n" +
    "  run     check every `poll` interval, backing off after failures, until stopped (SIGTERM)\n" +
    "  once    one check; exit 0 when the device is up to date or updated, 1 when it failed or rolled back\n" +
    "  status  what is installed, what the last check did\n" +
    "  init    write an agent configuration for a device class from slmops.yaml, and a systemd unit",
  positionals: [{ name: "action", description: ACTIONS.join(" | ") }],
  options: {
    config: { type: "string", valueName: "file", description: `the agent configuration (default $${CONFIG_VARIABLE}, else /etc/slmops/agent.yaml); init: where to write it (default slmops-agent.yaml)` },
    "device-class": { type: "string", valueName: "id", description: "init: the device class (a device id of slmops.yaml's release.targets)" },
    repository: { type: "string", valueName: "url", description: "init: the release repository's URL as devices reach it" },
    "device-id": { type: "string", valueName: "id", description: "init: this device's id (default: read from /etc/machine-id at start)" },
    "install-dir": { type: "string", valueName: "dir", description: "init: where models are installed on the device, an absolute path (default /var/lib/slmops)" },
    "trusted-root": { type: "string", valueName: "file", description: "init: the repository's 1.root.json on the device, an absolute path (default /etc/slmops/1.root.json)" },
    model: { type: "string", valueName: "id", description: "init: the model, when the device class gets several" },
    manifest: { type: "string", valueName: "path", description: "init: the manifest (default: the nearest slmops.yaml here or above)" },
    "systemd-unit": { type: "string", valueName: "file", description: "init: where to write the systemd unit (default slmops-agent.service)" },
    json: { type: "boolean", description: "status: print the state as JSON" },
  },
  examples: [
    "slmops agent init --device-class rpi5 --repository https://models.example.com/edge",
    "slmops agent once --config slmops-agent.yaml",
    "slmops agent status --config slmops-agent.yaml",
  ],
  run: runAgent,
};

/** The agent's own use: the health check's child process (see `@slmops/agent`'s health-check-process.ts); not shown in help. */
const HEALTH_CHECK_CHILD = "health-check";

async function runAgent(context: CommandContext): Promise<number> {
  const action = context.positionals[0];
  if (action === HEALTH_CHECK_CHILD) return healthCheckChild(context);
  if (!(ACTIONS as readonly string[]).includes(action ?? "")) {
    throw new UsageError(`Unknown agent action \`${terminalText(action ?? "")}\`.`, { command: "agent", hint: `use one of: ${ACTIONS.join(", ")}.` });
  }
  if (action === "init") return init(context);
  const { loadAgentConfig, DEFAULT_AGENT_CONFIG } = await import("@slmops/agent");
  const given = stringOption(context, "config", "agent") ?? context.io.env[CONFIG_VARIABLE] ?? DEFAULT_AGENT_CONFIG;
  const config = await loadAgentConfig(resolve(context.io.cwd, given), given);
  switch (action as Exclude<Action, "init">) {
    case "once":
      return once(context, config);
    case "run":
      return runLoop(context, config);
    case "status":
      return status(context, config);
  }
}

/**
 * The agent with its sinks: the JSON lines, and the collector's outbox when
 * one is configured (sent after each check). The health check runs in a
 * child process, this CLI again (`agent health-check`), so ONNX Runtime
 * never lives in the agent.
 */
async function makeAgent(context: CommandContext, config: AgentConfig) {
  const { createDeviceAgent, healthCheckInChildProcess } = await import("@slmops/agent");
  const bin = process.argv[1];
  if (bin === undefined) throw new Error("internal: the CLI's own path is unknown, so the health check's process cannot be started");
  return createDeviceAgent(config, {
    healthCheck: healthCheckInChildProcess({ file: process.execPath, args: [bin, "agent", HEALTH_CHECK_CHILD] }, { timeoutMs: config.healthCheck.timeoutMs }),
    stdout: context.io.stdout,
    onReportProblem: (problem, pending) => context.io.stderr.write(`collector: ${terminalText(problem)}${pending > 0 ? ` (${pending} report(s) kept to send after the next check)` : ""}\n`),
  });
}

/**
 * The health check's child: one request on stdin, its result as JSON on
 * stdout. ONNX Runtime is loaded and warmed up (its first session) before
 * the request is read, since the agent starts this process while the update
 * still downloads.
 */
async function healthCheckChild(context: CommandContext): Promise<number> {
  const [{ runHealthCheck }, { warmUp }] = await Promise.all([import("@slmops/health-check"), import("@slmops/runtime")]);
  // Only a head start: if ONNX Runtime cannot even run the warm-up model, the check's own session says why.
  await warmUp().catch(() => undefined);
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin) {
    bytes += (chunk as Buffer).byteLength;
    if (bytes > 64 * 1024 * 1024) throw new ConfigurationError("the health check's request is larger than 64 MiB");
    chunks.push(chunk as Buffer);
  }
  const request = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { modelPath?: unknown; fixture?: unknown; options?: { budgetMs?: unknown } };
  if (typeof request.modelPath !== "string") throw new ConfigurationError("the health check's request names no model");
  const budget = request.options?.budgetMs;
  const result = await runHealthCheck(request.modelPath, request.fixture, typeof budget === "number" ? { budgetMs: budget } : {});
  context.io.stdout.write(`${JSON.stringify(result)}\n`);
  return ExitCode.ok;
}

function exitFor(outcome: CheckOutcome, context: CommandContext): number {
  if (outcome.kind === "failed" && outcome.internal !== undefined) {
    // Not a refusal the agent expects: keep the cause chain for a report.
    const chain: string[] = [];
    for (let e: unknown = outcome.internal; e instanceof Error; e = e.cause) chain.push(e.stack ?? e.message);
    context.io.stderr.write(`internal error in the agent (please report it):\n${chain.join("\ncaused by: ")}\n`);
  }
  return outcome.kind === "idle" || outcome.kind === "updated" ? ExitCode.ok : ExitCode.failure;
}

async function once(context: CommandContext, config: AgentConfig): Promise<number> {
  const agent = await makeAgent(context, config);
  return exitFor(await agent.checkOnce(), context);
}

async function runLoop(context: CommandContext, config: AgentConfig): Promise<number> {
  const agent = await makeAgent(context, config);
  const { nextDelay, readJournal } = await import("@slmops/agent");
  let stop = false;
  let wake: (() => void) | undefined;
  const onSignal = (): void => {
    stop = true;
    wake?.();
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  try {
    while (!stop) {
      const outcome = await agent.checkOnce();
      if (outcome.kind === "failed" && outcome.internal !== undefined) exitFor(outcome, context);
      if (stop) break;
      const { journal } = await readJournal(agent.layout.journal);
      const delay = nextDelay(config, outcome, journal.failures);
      await new Promise<void>((done) => {
        const timer = setTimeout(done, delay);
        wake = () => {
          clearTimeout(timer);
          done();
        };
      });
    }
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
  return ExitCode.ok;
}

async function status(context: CommandContext, config: AgentConfig): Promise<number> {
  const { agentLayout, readJournal, activeModel } = await import("@slmops/agent");
  const layout = agentLayout(config.installDir);
  const { journal, problem } = await readJournal(layout.journal);
  const active = await activeModel(config.installDir);
  const state = {
    device: config.device.id,
    deviceClass: config.device.class,
    model: config.model,
    channel: config.channel,
    active: active ? { version: active.version, digest: active.digest, path: active.path } : null,
    previous: journal.previous ? { version: journal.previous.version, digest: journal.previous.digest } : null,
    pending: journal.pending ? { version: journal.pending.version, step: journal.pending.step, since: journal.pending.startedAt } : null,
    failed: Object.entries(journal.failed).map(([version, f]) => ({ version, reason: f.reason, at: f.at })),
    failures: journal.failures,
    lastCheck: journal.lastCheck,
  };
  if (context.values.json === true) {
    context.io.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
    return ExitCode.ok;
  }
  const out = context.io.stdout;
  out.write(`${config.model} on ${config.channel}, device ${terminalText(config.device.id)} (${config.device.class})\n`);
  out.write(`  active:     ${state.active ? `${state.active.version} (${state.active.digest.slice(0, 12)})  ${state.active.path}` : "none yet"}\n`);
  out.write(`  previous:   ${state.previous ? state.previous.version : "none"}\n`);
  if (state.pending) out.write(`  unfinished: ${state.pending.version} stopped while ${state.pending.step} (the next check finishes or undoes it)\n`);
  for (const f of state.failed) out.write(`  failed:     ${f.version} at ${f.at}: ${terminalText(f.reason)} (not retried until a newer release)\n`);
  out.write(`  last check: ${state.lastCheck ?? "never"}${state.failures > 0 ? `, ${state.failures} failed attempt(s) in a row` : ""}\n`);
  if (problem) out.write(`  note:       ${terminalText(problem)}\n`);
  return ExitCode.ok;
}

// ---------------------------------------------------------------- init

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/**
 * A path on the device (`--install-dir`, `--trusted-root`): absolute, since
 * the configuration is installed as /etc/slmops/agent.yaml and a relative
 * path would be read from there; no spaces or control characters, since the
 * install directory is written into the systemd unit as it is.
 */
function devicePath(context: CommandContext, option: "install-dir" | "trusted-root", fallback: string): string {
  const value = stringOption(context, option, "agent") ?? fallback;
  if (!isAbsolute(value) || /[\s\p{Cc}]/u.test(value)) {
    throw new UsageError(`\`--${option}\` is a path on the device: give it absolute and without spaces (e.g. ${fallback}), not \`${terminalText(value)}\`.`, { command: "agent" });
  }
  return value;
}

function yamlString(value: string): string {
  return JSON.stringify(value);
}

async function init(context: CommandContext): Promise<number> {
  const { io } = context;
  const deviceClass = stringOption(context, "device-class", "agent");
  if (deviceClass === undefined) throw new UsageError("`agent init` needs `--device-class <id>`: the device class of slmops.yaml's release.targets this device is.", { command: "agent" });
  const repository = stringOption(context, "repository", "agent");
  if (repository === undefined || !/^https?:\/\/\S+$/.test(repository)) {
    throw new UsageError("`agent init` needs `--repository <url>`: the release repository's URL as the device reaches it (http or https).", { command: "agent" });
  }
  const installDir = devicePath(context, "install-dir", "/var/lib/slmops");
  const trustedRoot = devicePath(context, "trusted-root", "/etc/slmops/1.root.json");
  const deviceId = stringOption(context, "device-id", "agent");
  if (deviceId !== undefined && !/^[^\s\p{Cc}]{1,256}$/u.test(deviceId)) {
    throw new UsageError("`--device-id` is this device's id: 1 to 256 characters, without spaces or control characters (or leave it out to read /etc/machine-id at start).", { command: "agent" });
  }
  const file = await resolveManifestPath(stringOption(context, "manifest", "agent"), io.cwd, manifestOptionWording("agent init"));
  const loaded = await loadValidManifest(file, io, styleFor(io.stderrIsTTY, io.env));
  if (!loaded) return ExitCode.failure;
  const release = loaded.manifest.release;
  if (!release) throw new ConfigurationError(`${file.display} has no \`release:\` section; a device takes up releases of the models it names`);
  const targets = release.targets.filter((t) => t.device === deviceClass);
  if (targets.length === 0) {
    throw new ConfigurationError(`device class ${terminalText(deviceClass)} is not in ${file.display}'s release.targets (it has ${[...new Set(release.targets.map((t) => t.device))].join(", ") || "none"})`);
  }
  const modelGiven = stringOption(context, "model", "agent");
  const models = [...new Set(targets.map((t) => t.model))];
  const model = modelGiven ?? (models.length === 1 ? models[0] : undefined);
  if (model === undefined || !models.includes(model)) {
    throw new ConfigurationError(`device class ${deviceClass} gets ${models.join(", ")}; pass --model with one of them`);
  }
  const configFile = resolve(io.cwd, stringOption(context, "config", "agent") ?? "slmops-agent.yaml");
  const unitFile = resolve(io.cwd, stringOption(context, "systemd-unit", "agent") ?? "slmops-agent.service");
  for (const path of [configFile, unitFile]) {
    if (await exists(path)) throw new ConfigurationError(`${relative(io.cwd, path) || path} already exists; it is not overwritten — choose another path (--config / --systemd-unit) or move it away`);
  }
  const text =
    `# slmops agent configuration (schemas/agent-config.schema.json), written by \`slmops agent init\`.\n` +
    `version: 1\n` +
    `repository: ${yamlString(repository)}\n` +
    `channel: ${release.channel}\n` +
    `model: ${model}\n` +
    `device:\n` +
    (deviceId === undefined ? `  id-file: /etc/machine-id          # the cohort in a staged rollout is drawn from this id\n` : `  id: ${yamlString(deviceId)}\n`) +
    `  class: ${deviceClass}\n` +
    `install-dir: ${yamlString(installDir)}          # the application loads <install-dir>/active/model.onnx\n` +
    `trusted-root: ${yamlString(trustedRoot)}    # the repository's metadata/1.root.json, installed with the device\n` +
    `poll: 5m\n` +
    `health-check:\n` +
    `  budget: 2s                         # the release's fixture must run within this on the device\n` +
    `  timeout: 2m\n` +
    `backoff: { initial: 30s, max: 1h }\n` +
    `events: "-"                          # one JSON line per transition, on standard output (the journal)\n`;
  // systemd creates a state directory under /var/lib itself (and keeps it writable under ProtectSystem=strict).
  const normalized = posix.normalize(installDir).replace(/(.)\/+$/, "$1");
  const stateDirectory = normalized.startsWith("/var/lib/") ? normalized.slice("/var/lib/".length) : undefined;
  const unit =
    `[Unit]\n` +
    `Description=slmops agent: model releases for ${model} (${deviceClass})\n` +
    `Wants=network-online.target\n` +
    `After=network-online.target\n\n` +
    `[Service]\n` +
    `Type=simple\n` +
    `ExecStart=/usr/bin/env slmops agent run --config /etc/slmops/agent.yaml\n` +
    `Restart=always\n` +
    `RestartSec=30\n` +
    `# A stop mid-update is safe: the next start finishes or undoes it.\n` +
    `TimeoutStopSec=30\n` +
    (stateDirectory === undefined ? `# ${installDir} must exist before the service starts: the file system is read-only to it otherwise.\n` : `StateDirectory=${stateDirectory}\n`) +
    `NoNewPrivileges=yes\n` +
    `ProtectSystem=strict\n` +
    `ReadWritePaths=${installDir}\n` +
    `PrivateTmp=yes\n\n` +
    `[Install]\n` +
    `WantedBy=multi-user.target\n`;
  const { writeFileAtomic } = await import("@slmops/atomic-file");
  const { mkdir } = await import("node:fs/promises");
  await mkdir(dirname(configFile), { recursive: true });
  await mkdir(dirname(unitFile), { recursive: true });
  await writeFileAtomic(configFile, text);
  await writeFileAtomic(unitFile, unit);
  io.stdout.write(
    `Wrote ${relative(io.cwd, configFile)} (${model} on ${release.channel} for ${deviceClass}) and ${relative(io.cwd, unitFile)}.\n` +
      `On the device: install the repository's metadata/1.root.json as ${trustedRoot}, the configuration as\n` +
      `/etc/slmops/agent.yaml, then: sudo cp ${relative(io.cwd, unitFile)} /etc/systemd/system/slmops-agent.service && sudo systemctl enable --now slmops-agent\n`,
  );
  return ExitCode.ok;
}
