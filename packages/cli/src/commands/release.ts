import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { pipeline } from "node:stream";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve, sep } from "node:path";
import { ConfigurationError, terminalText } from "@slmops/diagnostics";
import type { Expiry, RepositoryState, RoleName, RolloutChange, RolloutState, SigningKey } from "@slmops/edge-release";
import { DEFAULT_VARIANTS_DIR } from "@slmops/variant-identity";
import type { Command, CommandContext } from "../command.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { styleFor } from "../io.js";
import { loadValidManifest } from "../load-manifest.js";
import { findManifestUpwards, manifestOptionWording, resolveManifestPath } from "../manifest-path.js";
import { countOption, filterOption, filterSpec, stringOption } from "../options.js";
import { listenFailure, untilStopped } from "../serve.js";

/** The port `release serve` listens on by default. */
const DEFAULT_SERVE_PORT = 8000;

const ACTIONS = ["build", "verify", "status", "promote", "halt", "refresh", "serve"] as const;
type Action = (typeof ACTIONS)[number];

export const releaseCommand: Command = {
  name: "release",
  summary: "signed model releases for the fleet: build, verify, status, promote, halt, refresh, serve",
  description:
    "A TUF repository of the manifest's release (see `slmops keys init` for the keys, read from\n" +
    "SLMOPS_<ROLE>_KEY environment variables).\n" +
    "  build    publish the built variants of release.targets, signed with the targets key (the first\n" +
    "           build creates the repository and needs every role's key); refuses a verdict that did not\n" +
    "           pass unless --force\n" +
    "  verify   check the repository as a device does (tuf-js) from --root: every target of the channel\n" +
    "  status   the releases of each channel and their rollout state\n" +
    "  promote  start the newest release's rollout, or move it to the next stage once the stage's soak\n" +
    "           has passed since the stage began (stageStartedAt, signed with the rollout state; a start\n" +
    "           later than this machine's clock is refused) (rollout, snapshot and timestamp keys)\n" +
    "           With --database (the fleet collector's), promote first judges the fleet's reports: a failure\n" +
    "           rate above the plan's abort rule once its min-devices reported, or field latency over a gate's\n" +
    "           latency limit, halts the rollout instead (exit 1); each decision is a line of\n" +
    "           <repo>/rollout-decisions.jsonl\n" +
    "  halt     stop the rollout (rollout, snapshot and timestamp keys)\n" +
    "  refresh  sign a new snapshot and timestamp, nothing else changed (snapshot and timestamp keys): the\n" +
    "           scheduled job that keeps devices from seeing the repository as frozen — run it more often\n" +
    "           than the timestamp expires (1 day by default); with SLMOPS_ROLLOUT_KEY set, the rollout\n" +
    "           metadata is signed again as well (it expires after 7 days by default)\n" +
    "  serve    serve the repository over HTTP as a static host would (read-only, regular files only), for\n" +
    "           devices on this machine or network during development; a fleet's host is a CDN or nginx\n" +
    "promote, halt and refresh sign with the manifest's release.expiry (--manifest, or the nearest\n" +
    "slmops.yaml; without one, the default expiry).",
  positionals: [{ name: "action", description: ACTIONS.join(" | ") }],
  options: {
    repo: { type: "string", valueName: "dir", description: "the release repository (verify: also an http(s) URL)" },
    manifest: { type: "string", valueName: "path", description: "the manifest (default: the nearest slmops.yaml here or above); promote/halt/refresh: its release.expiry (and channel)" },
    channel: { type: "string", valueName: "name", description: "the channel (default: the manifest's release.channel)" },
    version: { type: "string", valueName: "semver", description: "build: the release's version (default 0.0.0-g<commit>); promote/halt: the release (default: the newest)" },
    model: { type: "string", valueName: "id", description: "promote/halt: the model (default: the only one the channel has)" },
    variants: { type: "string", valueName: "dir", description: `build: the built variants (default ${DEFAULT_VARIANTS_DIR} beside the manifest)` },
    verdict: { type: "string", valueName: "file", description: "build: the gate's verdict (`slmops gate --json` output)" },
    force: { type: "boolean", description: "build: publish although the gate did not pass (recorded in the signed metadata)" },
    root: { type: "string", valueName: "file", description: "verify: the trusted root metadata (1.root.json)" },
    "if-due": { type: "boolean", description: "promote: when the stage's soak is not over, the rollout is at its last stage or halted, say so and exit 0 (for a scheduled job); the fleet is still judged" },
    database: { type: "string", valueName: "file|url", description: "promote: the fleet collector's database (SQLite file or postgres:// URL); the rollout halts instead of moving on when its reports meet the plan's abort rule or break a gate's latency limit" },
    json: { type: "boolean", description: "status: print the result as JSON" },
    device: filterSpec("ids", "build: release only these device classes of release.targets (default: every one)"),
    host: { type: "string", valueName: "address", description: "serve: the address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)" },
    port: { type: "string", valueName: "n", description: `serve: the port (default ${DEFAULT_SERVE_PORT}; 0 picks a free one)` },
  },
  examples: [
    "slmops release build --repo release --verdict verdict.json",
    "slmops release verify --repo release --root release/metadata/1.root.json",
    "slmops release status --repo release",
    "slmops release promote --repo release",
    "slmops release refresh --repo release",
    "slmops release serve --repo release --port 8000",
  ],
  run: runRelease,
};

async function runRelease(context: CommandContext): Promise<number> {
  const action = context.positionals[0];
  if (!ACTIONS.includes(action as Action)) {
    throw new UsageError(`Unknown release action \`${terminalText(action ?? "")}\`.`, { command: "release", hint: `use one of: ${ACTIONS.join(", ")}.` });
  }
  const repoGiven = stringOption(context, "repo", "release");
  if (repoGiven === undefined) throw new UsageError("Option `--repo` is required.", { command: "release" });
  switch (action as Action) {
    case "build":
      return build(context, resolve(context.io.cwd, repoGiven));
    case "verify":
      return verify(context, repoGiven);
    case "status":
      return status(context, resolve(context.io.cwd, repoGiven));
    case "promote":
    case "halt":
      return moveRollout(context, resolve(context.io.cwd, repoGiven), action as "promote" | "halt");
    case "refresh":
      return refresh(context, resolve(context.io.cwd, repoGiven), repoGiven);
    case "serve":
      return serve(context, resolve(context.io.cwd, repoGiven), repoGiven);
  }
}

// ---------------------------------------------------------------- keys

async function signersFrom(env: NodeJS.ProcessEnv, roles: readonly RoleName[]): Promise<Record<RoleName, SigningKey[]>> {
  const { signersFromEnvironment } = await import("@slmops/edge-release");
  return signersFromEnvironment(env, roles);
}

// ---------------------------------------------------------------- build

function sourceCommit(dir: string): string {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    throw new ConfigurationError("a release records its source commit: run `slmops release build` in the git repository of the manifest, with at least one commit");
  }
}

async function build(context: CommandContext, repo: string): Promise<number> {
  const { io, values } = context;
  const file = await resolveManifestPath(stringOption(context, "manifest", "release"), io.cwd, manifestOptionWording("release"));
  const loaded = await loadValidManifest(file, io, styleFor(io.stderrIsTTY, io.env));
  if (!loaded) return ExitCode.failure;
  const edge = await import("@slmops/edge-release");
  const manifestDir = dirname(file.absolute);
  const variantsGiven = stringOption(context, "variants", "release");
  const verdictGiven = stringOption(context, "verdict", "release");
  const releases = await edge.releasesFromManifest({
    manifest: loaded.manifest,
    manifestFile: file.absolute,
    manifestDisplay: file.display,
    variantsDir: variantsGiven === undefined ? join(manifestDir, DEFAULT_VARIANTS_DIR) : resolve(io.cwd, variantsGiven),
    verdict: verdictGiven === undefined ? undefined : await edge.readGateVerdict(resolve(io.cwd, verdictGiven), `--verdict ${verdictGiven}`),
    sourceCommit: sourceCommit(manifestDir),
    version: stringOption(context, "version", "release"),
    channel: stringOption(context, "channel", "release"),
    devices: filterOption(context, "device", "release"),
  });
  // Everything that needs no key is checked before a key is read or a file is written.
  const force = values.force === true;
  edge.refuseUnlessPassed(releases, { force, verdictGiven: verdictGiven !== undefined, wording: { verdict: "--verdict", force: "--force" } });
  const forced = edge.gateFailures(releases).length > 0;
  const published = await edge.publishReleases(repo, releases, { env: io.env, force, ...(loaded.manifest.release ? { expiry: loaded.manifest.release.expiryMs } : {}) });
  if (published.created) io.stdout.write(`Created the release repository; its trust anchor for devices: ${join(repo, "metadata", "1.root.json").split(sep).join("/")}\n`);
  for (const { release: r, result } of published.results) {
    const what = `${r.model} ${r.version} on ${r.channel}`;
    io.stdout.write(result.changed ? `Published ${what}: ${result.paths.length} file(s) for ${r.targets.map((t) => t.deviceClass).join(", ")}${forced ? " (forced)" : ""}\n` : `${what} is already published; nothing written\n`);
  }
  return ExitCode.ok;
}

// ---------------------------------------------------------------- verify

interface Served {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `root` read-only (on 127.0.0.1 and a free port unless told), as a static host would: regular files only, no link followed, streamed. */
async function serveDirectory(root: string, listen: { readonly host?: string; readonly port?: number } = {}): Promise<Served> {
  const { openRegularFile } = await import("@slmops/contained-fs");
  const server = createServer((request, response) => {
    let file: string;
    try {
      file = join(root, decodeURIComponent(new URL(request.url ?? "/", "http://127.0.0.1").pathname));
    } catch {
      response.writeHead(400).end();
      return;
    }
    if (request.method !== "GET" || !file.startsWith(root + sep)) {
      response.writeHead(404).end();
      return;
    }
    openRegularFile(file, { maxBytes: 16 * 1024 * 1024 * 1024, what: "repository file", noFollow: true }).then(
      ({ handle, size }) => {
        response.writeHead(200, { "content-length": size });
        if (size === 0) {
          response.end();
          void handle.close();
          return;
        }
        // Exactly the size announced, even if the file changes meanwhile (a shorter one ends the response early).
        // The file is closed when the response ends, fails or is closed by the client.
        pipeline(handle.createReadStream({ start: 0, end: size - 1, highWaterMark: 1024 * 1024 }), response, () => undefined);
      },
      () => response.writeHead(404).end(),
    );
  });
  const host = listen.host ?? "127.0.0.1";
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen(listen.port ?? 0, host, () => {
      server.off("error", fail);
      done();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections(); // keep-alive clients (agents) would hold the close open
      }),
  };
}

async function verify(context: CommandContext, repoGiven: string): Promise<number> {
  const { io } = context;
  const rootGiven = stringOption(context, "root", "release");
  if (rootGiven === undefined) throw new UsageError("`release verify` needs `--root <1.root.json>`: the trust anchor a device is installed with.", { command: "release" });
  const channel = stringOption(context, "channel", "release");
  const root = await readFile(resolve(io.cwd, rootGiven)).catch(() => {
    throw new ConfigurationError(`--root ${rootGiven}: cannot read the root metadata`);
  });
  const isUrl = /^https?:\/\//i.test(repoGiven);
  const { checkRepository } = await import("@slmops/agent");
  const checked = await checkRepository({ repository: isUrl ? repoGiven : resolve(io.cwd, repoGiven), root, ...(channel === undefined ? {} : { channel }) });
  const how = isUrl ? "downloaded and checked" : "checked in place";
  io.stdout.write(`✓ the repository verifies as a device sees it: ${checked.targets.length} target(s) ${how}${channel === undefined ? "" : ` on channel ${channel}`}\n`);
  return ExitCode.ok;
}

// ---------------------------------------------------------------- status

interface ReleaseEntry {
  readonly channel: string;
  readonly model: string;
  readonly version: string;
  readonly deviceClasses: string[];
  readonly stages: { percent: number; soakMs: number }[];
  /** The plan's abort rule (a fraction and a device count), when it has one. */
  readonly abort: { failureRate: number; minDevices: number } | undefined;
  forced: boolean;
}

function releasesOf(state: RepositoryState): ReleaseEntry[] {
  const map = new Map<string, ReleaseEntry>();
  for (const target of Object.values(state.targets.signed.targets)) {
    const c = target.custom as Record<string, unknown>;
    const channel = String(c["channel"]);
    const model = String(c["model"]);
    const version = String(c["version"]);
    const key = `${channel}\0${model}\0${version}`;
    const plan = c["rolloutPlan"] as { stages?: { percent: unknown; soakMs: unknown }[]; abort?: { failureRate: unknown; minDevices: unknown } } | undefined;
    const abort = plan?.abort && Number.isFinite(Number(plan.abort.failureRate)) && Number.isInteger(Number(plan.abort.minDevices)) ? { failureRate: Number(plan.abort.failureRate), minDevices: Number(plan.abort.minDevices) } : undefined;
    const entry = map.get(key) ?? {
      channel,
      model,
      version,
      deviceClasses: [],
      stages: (plan?.stages ?? []).map((s) => ({ percent: Number(s.percent), soakMs: Number(s.soakMs) })),
      abort,
      forced: false,
    };
    const deviceClass = String(c["deviceClass"]);
    if (!entry.deviceClasses.includes(deviceClass)) entry.deviceClasses.push(deviceClass);
    if (c["forced"] !== undefined) entry.forced = true;
    map.set(key, entry);
  }
  return [...map.values()].sort((a, b) => a.channel.localeCompare(b.channel) || a.model.localeCompare(b.model) || compareVersions(a.version, b.version));
}

/** The signed rollout states, each checked; a malformed one is set apart with the reason it is not trusted. */
async function rolloutsOf(state: RepositoryState): Promise<{ rollouts: RolloutState[]; untrusted: { target: string; reason: string }[] }> {
  const { readRolloutState } = await import("@slmops/edge-release");
  const rollouts: RolloutState[] = [];
  const untrusted: { target: string; reason: string }[] = [];
  for (const target of Object.values(state.rollout.signed.targets)) {
    try {
      rollouts.push(readRolloutState(target.custom["rollout"], `rollout target ${target.path}`));
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      untrusted.push({ target: target.path, reason: error.message });
    }
  }
  return { rollouts, untrusted };
}

/** Semantic version precedence (semver 2.0.0 §11). */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const [core = "", pre] = v.split(/-(.*)/s);
    return { core: core.split(".").map(Number), pre: pre === undefined ? [] : pre.split(".") };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < 3; i += 1) if ((x.core[i] ?? 0) !== (y.core[i] ?? 0)) return (x.core[i] ?? 0) - (y.core[i] ?? 0);
  if (x.pre.length === 0 || y.pre.length === 0) return y.pre.length - x.pre.length;
  for (let i = 0; i < Math.min(x.pre.length, y.pre.length); i += 1) {
    const p = x.pre[i] as string;
    const q = y.pre[i] as string;
    if (p === q) continue;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) return Number(p) - Number(q);
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return x.pre.length - y.pre.length;
}

async function status(context: CommandContext, repo: string): Promise<number> {
  const { io } = context;
  const { loadRepository } = await import("@slmops/edge-release");
  const state = await loadRepository(repo);
  const releases = releasesOf(state);
  const { rollouts, untrusted } = await rolloutsOf(state);
  if (context.values.json === true) {
    io.stdout.write(`${JSON.stringify({ releases, rollouts, untrusted }, null, 2)}\n`);
    return ExitCode.ok;
  }
  const channels = [...new Set(releases.map((r) => r.channel))];
  if (channels.length === 0) io.stdout.write("No releases yet.\n");
  for (const channel of channels) {
    io.stdout.write(`channel ${channel}\n`);
    for (const r of releases.filter((e) => e.channel === channel)) {
      const rollout = rollouts.find((o) => o.channel === channel && o.model === r.model && o.version === r.version);
      const stage = rollout && r.stages[rollout.stage];
      const state = rollout
        ? `stage ${rollout.stage + 1} of ${r.stages.length}${stage ? ` (${stage.percent}%)` : ""} since ${rollout.stageStartedAt}${rollout.halted ? `, halted${rollout.haltedAt ? ` since ${rollout.haltedAt}` : ""}` : ""}`
        : "not rolled out";
      io.stdout.write(`  ${r.model} ${r.version}  ${r.deviceClasses.join(", ")}${r.forced ? "  forced" : ""}  ${state}\n`);
    }
  }
  for (const { reason } of untrusted) io.stdout.write(`${terminalText(reason)}\n`);
  return ExitCode.ok;
}

// ---------------------------------------------------------------- promote and halt

/** `12h 5m`, or from two days on `3d 4h`: rounded up, so a wait is never under-stated. */
function formatDuration(ms: number): string {
  const minutes = Math.ceil(ms / 60_000);
  if (minutes >= 48 * 60) {
    const hours = Math.ceil(minutes / 60);
    return `${Math.floor(hours / 24)}d ${hours % 24}h`;
  }
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours}h ${minutes % 60}m` : `${minutes}m`;
}

/** What a command that signs without building takes from the manifest. */
export interface ReleaseSettings {
  /** The manifest's `release.expiry`, per role in milliseconds; undefined: the defaults. */
  readonly expiry: Expiry | undefined;
  readonly channel: string | undefined;
  /** The gates' latency limits per device class (latency-p50/p90/p99 with a max), which field latency must keep. */
  readonly latencyLimits: readonly { readonly deviceClass: string; readonly metric: "latency-p50" | "latency-p90" | "latency-p99"; readonly maxMs: number }[];
}

/**
 * The manifest's release settings for a command that signs without building
 * (promote, halt, refresh, keys rotate): from `--manifest`, else the nearest
 * slmops.yaml here or above; with none, the default expiry (said on stderr).
 * Undefined when the manifest is invalid (its problems are printed).
 */
export async function releaseSettings(context: CommandContext, command: string): Promise<ReleaseSettings | undefined> {
  const { io } = context;
  const given = stringOption(context, "manifest", command);
  if (given === undefined && (await findManifestUpwards(io.cwd)) === undefined) {
    io.stderr.write("note: no slmops.yaml here or above (and no --manifest): signing with the default expiry of each role\n");
    return { expiry: undefined, channel: undefined, latencyLimits: [] };
  }
  const file = await resolveManifestPath(given, io.cwd, manifestOptionWording(command));
  const loaded = await loadValidManifest(file, io, styleFor(io.stderrIsTTY, io.env));
  if (!loaded) return undefined;
  const manifest = loaded.manifest;
  const latencyLimits = manifest.gates.flatMap((gate) =>
    gate.limits.flatMap((limit) =>
      (limit.metric === "latency-p50" || limit.metric === "latency-p90" || limit.metric === "latency-p99") && limit.max !== undefined
        ? (gate.devices.length > 0 ? gate.devices : manifest.devices.map((d) => d.id)).map((deviceClass) => ({ deviceClass, metric: limit.metric as "latency-p50" | "latency-p90" | "latency-p99", maxMs: limit.max as number }))
        : [],
    ),
  );
  return { expiry: manifest.release?.expiryMs, channel: manifest.release?.channel, latencyLimits };
}

async function moveRollout(context: CommandContext, repo: string, action: "promote" | "halt"): Promise<number> {
  const { io } = context;
  const edge = await import("@slmops/edge-release");
  const state = await edge.loadRepository(repo);
  const settings = await releaseSettings(context, "release");
  if (!settings) return ExitCode.failure;
  const releases = releasesOf(state);
  const channel = stringOption(context, "channel", "release") ?? defaultChannel(releases, settings);
  const onChannel = releases.filter((r) => r.channel === channel);
  const modelGiven = stringOption(context, "model", "release");
  const models = [...new Set(onChannel.map((r) => r.model))];
  const model = modelGiven ?? (models.length === 1 ? models[0] : undefined);
  if (model === undefined) {
    throw new ConfigurationError(models.length === 0 ? `channel ${channel} has no release; run \`slmops release build\` first` : `channel ${channel} has several models (${models.join(", ")}); pass --model`);
  }
  const ofModel = onChannel.filter((r) => r.model === model);
  const versionGiven = stringOption(context, "version", "release");
  const release = versionGiven === undefined ? ofModel.at(-1) : ofModel.find((r) => r.version === versionGiven);
  if (!release) throw new ConfigurationError(`${model}${versionGiven === undefined ? "" : ` ${versionGiven}`} is not published on channel ${channel}`);
  const target = state.rollout.signed.targets[edge.rolloutTargetPath(channel, model)];
  // A malformed state is refused here, whatever the action: it is not trusted.
  const current = target ? edge.readRolloutState(target.custom["rollout"], `rollout target ${target.path}`) : undefined;
  const same = current !== undefined && current.version === release.version;
  let next: RolloutChange;
  let said: string;
  if (action === "halt") {
    if (!same) throw new ConfigurationError(`${model} ${release.version} on ${channel} is not being rolled out; nothing to halt`);
    next = { ...current, halted: true };
    said = `Halted ${model} ${release.version} on ${channel} at stage ${current.stage + 1} of ${release.stages.length}`;
  } else if (!same) {
    const { newCohortSalt } = await import("@slmops/rollout-cohort");
    next = { channel, model, version: release.version, stage: 0, salt: newCohortSalt(), halted: false };
    said = `Started ${model} ${release.version} on ${channel}: stage 1 of ${release.stages.length}${release.stages[0] ? ` (${release.stages[0].percent}%)` : ""}`;
  } else {
    const ifDue = context.values["if-due"] === true;
    if (current.halted) {
      // A scheduled job goes on running after a halt: that is not its failure.
      if (ifDue) {
        io.stdout.write(`the rollout of ${model} ${release.version} on ${channel} is halted at stage ${current.stage + 1} of ${release.stages.length}; nothing to promote (publish a new version to start over)\n`);
        return ExitCode.ok;
      }
      throw new ConfigurationError(`the rollout of ${model} ${release.version} on ${channel} is halted; it is not promoted (publish a new version to start over)`);
    }
    if (stringOption(context, "database", "release") !== undefined) {
      const decision = await fleetDecision(context, { model, channel, version: release.version, abort: release.abort, latencyLimits: settings.latencyLimits, stage: current.stage });
      if (decision.abort) {
        const signers = await signersFrom(io.env, ["rollout", "snapshot", "timestamp"]);
        await edge.setRolloutState(repo, { ...current, halted: true }, { signers, ...(settings.expiry ? { expiry: settings.expiry } : {}) });
        await recordDecision(repo, { at: new Date().toISOString(), model, channel, version: release.version, stage: current.stage, decision: "halt", ...decision });
        io.stdout.write(`Halted ${model} ${release.version} on ${channel} at stage ${current.stage + 1} of ${release.stages.length}: the fleet's reports meet the abort rule\n${decision.reasons.map((r) => `  ${r}\n`).join("")}`);
        return ExitCode.failure;
      }
      await recordDecision(repo, { at: new Date().toISOString(), model, channel, version: release.version, stage: current.stage, decision: "continue", ...decision });
      io.stdout.write(`Fleet: ${decision.devices} device(s) took ${release.version} up, ${decision.failures} failed${decision.failureRate === null ? "" : ` (${(decision.failureRate * 100).toFixed(1)}%)`}; ${release.abort ? (decision.enoughDevices ? "within the abort rule" : `fewer than the ${release.abort.minDevices} devices the abort rule waits for`) : "the plan has no abort rule"}\n`);
    }
    if (current.stage + 1 >= release.stages.length) {
      if (ifDue) {
        io.stdout.write(`${model} ${release.version} on ${channel} is at its last stage (${release.stages.length} of ${release.stages.length}); nothing to promote\n`);
        return ExitCode.ok;
      }
      throw new ConfigurationError(`${model} ${release.version} on ${channel} is at its last stage already`);
    }
    const soakMs = release.stages[current.stage]?.soakMs ?? 0;
    // The soak counts from the stage's signed start; one in the future is refused.
    const soak = edge.stageSoak(current, Number.isFinite(soakMs) ? soakMs : 0);
    if (soak.remainingMs > 0 && ifDue) {
      io.stdout.write(`stage ${current.stage + 1} of ${model} ${release.version} on ${channel} soaks until ${edge.signedTime(soak.endsAt)} (${formatDuration(soak.remainingMs)} left); not promoted yet\n`);
      return ExitCode.ok;
    }
    if (soak.remainingMs > 0) {
      throw new ConfigurationError(
        `stage ${current.stage + 1} of ${model} ${release.version} on ${channel} began ${current.stageStartedAt} and soaks for ${formatDuration(soakMs)}; ` +
          `${formatDuration(soak.remainingMs)} left before it can be promoted (from ${edge.signedTime(soak.endsAt)}). Run \`slmops release promote\` again then`,
      );
    }
    next = { ...current, stage: current.stage + 1 };
    const stage = release.stages[next.stage];
    said = `Promoted ${model} ${release.version} on ${channel} to stage ${next.stage + 1} of ${release.stages.length}${stage ? ` (${stage.percent}%)` : ""}`;
  }
  const signers = await signersFrom(io.env, ["rollout", "snapshot", "timestamp"]);
  const result = await edge.setRolloutState(repo, next, { signers, ...(settings.expiry ? { expiry: settings.expiry } : {}) });
  io.stdout.write(`${result.changed ? said : `${said} (already so; nothing written)`}\n`);
  return ExitCode.ok;
}

/** The collector's reports on the release (its database, `--database`), judged by the plan's abort rule and the gates' latency limits. */
async function fleetDecision(
  context: CommandContext,
  input: { model: string; channel: string; version: string; stage: number; abort: ReleaseEntry["abort"]; latencyLimits: ReleaseSettings["latencyLimits"] },
) {
  const { openCollectorDatabase } = await import("./collector.js");
  const { rolloutDecision } = await import("@slmops/collector");
  const { store } = await openCollectorDatabase(context, "release");
  try {
    const status = await store.fleetStatus({ model: input.model, channel: input.channel, release: input.version });
    return rolloutDecision(status, input.abort, input.latencyLimits);
  } finally {
    await store.close();
  }
}

/** Each decision promote takes from the fleet, with its figures, one JSON line in `<repo>/rollout-decisions.jsonl`. */
async function recordDecision(repo: string, record: Record<string, unknown>): Promise<void> {
  const { appendFile } = await import("node:fs/promises");
  await appendFile(join(repo, "rollout-decisions.jsonl"), `${JSON.stringify(record)}\n`);
}

function defaultChannel(releases: readonly ReleaseEntry[], settings: ReleaseSettings): string {
  const channels = [...new Set(releases.map((r) => r.channel))];
  if (channels.length === 1) return channels[0] as string;
  if (settings.channel === undefined) throw new ConfigurationError("pass --channel: the repository has several channels and no manifest names one (release.channel)");
  return settings.channel;
}

// ---------------------------------------------------------------- refresh

/** `2030-01-01T00:00:00Z (in 23h 59m)`, or `… (expired)`. */
function expiryText(expires: string, now: number): string {
  const left = Date.parse(expires) - now;
  return `${expires} (${left > 0 ? `in ${formatDuration(left)}` : "expired"})`;
}

/**
 * A new snapshot and timestamp over the repository as it is: the scheduled
 * job that keeps devices from seeing it as frozen. Needs the snapshot and
 * timestamp keys only. Says when each role's metadata expires, and warns of
 * the ones this cannot sign again that expire before the next refresh is due.
 */
async function refresh(context: CommandContext, repo: string, repoGiven: string): Promise<number> {
  const { io } = context;
  const edge = await import("@slmops/edge-release");
  await edge.loadRepository(repo);
  const settings = await releaseSettings(context, "release");
  if (!settings) return ExitCode.failure;
  // With the rollout key at hand (the promote job has it), the rollout metadata is signed again too.
  const resignRollout = (io.env["SLMOPS_ROLLOUT_KEY"] ?? "").trim() !== "";
  const signers = await signersFrom(io.env, resignRollout ? ["rollout", "snapshot", "timestamp"] : ["snapshot", "timestamp"]);
  const state = await edge.refreshRepository(repo, { signers, resignRollout, ...(settings.expiry ? { expiry: settings.expiry } : {}) });
  const now = Date.now();
  const timestampLife = settings.expiry?.timestamp ?? edge.DEFAULT_EXPIRY.timestamp;
  io.stdout.write(
    `Refreshed ${repoGiven}: snapshot version ${state.snapshot.signed.version}, timestamp version ${state.timestamp.signed.version}.\n` +
      `  timestamp expires ${expiryText(state.timestamp.signed.expires, now)}: refresh again before then, or devices see the repository as frozen\n` +
      `  snapshot  expires ${expiryText(state.snapshot.signed.expires, now)}\n`,
  );
  const others: [string, string, string][] = [
    ["targets", state.targets.signed.expires, "publishing a release (slmops release build) signs it again"],
    ["rollout", state.rollout.signed.expires, "promoting or halting (slmops release promote, halt) signs it again, and so does refresh with SLMOPS_ROLLOUT_KEY set"],
    ["root", state.root.signed.expires, "a new root version (slmops keys rotate --role root) replaces it"],
  ];
  for (const [role, expires] of others) io.stdout.write(`  ${role.padEnd(9)} expires ${expiryText(expires, now)}\n`);
  if (resignRollout) io.stdout.write(`  rollout signed again (version ${state.rollout.signed.version})\n`);
  for (const [role, expires, remedy] of others) {
    if (Date.parse(expires) - now < 2 * timestampLife) {
      io.stderr.write(`warning: the ${role} metadata ${Date.parse(expires) <= now ? "has expired" : `expires ${expires}`}, before the refresh after next is due; devices refuse it once it has expired, and refresh does not sign it — ${remedy}\n`);
    }
  }
  return ExitCode.ok;
}

// ---------------------------------------------------------------- serve

async function serve(context: CommandContext, repo: string, given: string): Promise<number> {
  const { io } = context;
  const { hasRepository } = await import("@slmops/edge-release");
  if (!(await hasRepository(repo))) throw new ConfigurationError(`${given} is not a release repository (no metadata/1.root.json); make one with \`slmops release build --repo ${given}\``);
  const host = stringOption(context, "host", "release") ?? "127.0.0.1";
  const port = countOption(context, "port", "release", { minimum: 0, maximum: 65535 }) ?? DEFAULT_SERVE_PORT;
  let served: Served;
  try {
    served = await serveDirectory(repo, { host, port });
  } catch (error) {
    throw listenFailure(error, host, port);
  }
  io.stdout.write(
    `serving the release repository ${terminalText(given)} on ${served.url} (read-only)\n` +
      `  devices: repository: ${served.url}   trust anchor: ${join(given, "metadata", "1.root.json").split(sep).join("/")}\n` +
      "  for development: a fleet's repository is served by a static host (see publish-edge-release); stop with SIGTERM or Ctrl-C\n",
  );
  io.stdout.write(`release serve: ${await untilStopped()}, stopping\n`);
  await served.close();
  return ExitCode.ok;
}
