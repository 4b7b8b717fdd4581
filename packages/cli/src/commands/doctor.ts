import os from "node:os";
import { ConfigurationError, terminalText } from "@slmops/diagnostics";
import type { FingerprintJson } from "@slmops/bench";
import type { DeviceMatch, MachineFacts } from "@slmops/device-plan";
import type { Manifest } from "@slmops/manifest";
import type { Command, CommandContext } from "../command.js";
import { jsonOption } from "../command.js";
import { ExitCode } from "../exit-codes.js";
import { styleFor, type Io, type Style } from "../io.js";
import { MANIFEST_FILE_NAME, manifestOptionWording, resolveManifestPath } from "../manifest-path.js";
import { stringOption } from "../options.js";
import { loadManifestUnchecked } from "./plan.js";

/** The fingerprint a bench report records. */
type Fingerprint = FingerprintJson;

/** `slmops doctor --json` output. */
export interface DoctorJson {
  /** What a bench report on this machine records as its fingerprint. */
  readonly fingerprint: Fingerprint;
  /** The CPU features quantized models use, by their common names (`avx2`, `neon`, `dotprod` …). */
  readonly "cpu-features": readonly string[];
  readonly "memory-available-bytes": number;
  /** With --device: whether this machine can act as it, check by check. */
  readonly device?: DeviceMatch;
}

export const doctorCommand: Command = {
  name: "doctor",
  summary: "what this machine offers for benchmarks (ONNX Runtime, CPU, memory), and whether it can act as a device",
  description:
    "Prints ONNX Runtime's version and execution providers, the CPU (model, the features quantized models use,\n" +
    "cores), memory, the frequency governor and temperature where the OS exposes them, OS and architecture:\n" +
    "what a bench report records as this machine's fingerprint.\n" +
    "With --device, also checks whether this machine can act as that device of slmops.yaml: its OS and\n" +
    "architecture against the device's runs-on labels, ONNX Runtime's providers against the device's\n" +
    "execution-providers, its memory against the memory-budget. Exits 1 when a check fails.",
  positionals: [],
  options: {
    device: { type: "string", valueName: "id", description: "check whether this machine can act as this device of the manifest" },
    manifest: { type: "string", valueName: "path", description: `the manifest, or a directory holding ${MANIFEST_FILE_NAME} (default ./${MANIFEST_FILE_NAME}; only with --device)` },
    json: jsonOption,
  },
  examples: ["slmops doctor", "slmops doctor --device rpi5", "slmops doctor --json | jq .fingerprint.arch"],
  run: runDoctor,
};

/** The facts a device is matched against, from this machine's fingerprint. */
function factsOf(fingerprint: Fingerprint): MachineFacts {
  return { os: fingerprint.os, arch: fingerprint.arch, executionProviders: fingerprint["execution-providers"], memoryBytes: fingerprint["memory-bytes"] };
}

/**
 * Whether this machine can act as `deviceId` of `manifest`. The id `local`
 * not listed in the manifest is the ad-hoc device bench uses (CPU, no labels).
 * An unknown device is a `ConfigurationError` naming the known ones.
 */
export async function matchThisMachine(manifest: Manifest, deviceId: string, fingerprint?: Fingerprint): Promise<DeviceMatch> {
  const { LOCAL_DEVICE_ID, matchDevice } = await import("@slmops/device-plan");
  const entry = manifest.devices.find((d) => d.id === deviceId);
  const device = entry ?? (deviceId === LOCAL_DEVICE_ID ? { id: LOCAL_DEVICE_ID, runsOn: [], executionProviders: ["cpu" as const] } : undefined);
  if (!device) {
    const known = manifest.devices.map((d) => `\`${terminalText(d.id)}\``).join(", ") || "none";
    throw new ConfigurationError(`No device \`${terminalText(deviceId)}\` in the manifest; its devices are ${known}.`);
  }
  const { collectFingerprint } = await import("@slmops/bench");
  return matchDevice(device, factsOf(fingerprint ?? (await collectFingerprint())));
}

/**
 * For `slmops bench --device`: warns on stderr when this machine does not
 * match the device (the benchmark goes on: the user may know better).
 */
export async function warnIfNotDevice(manifest: Manifest, deviceId: string, io: Io): Promise<void> {
  const { deviceMismatchWarning } = await import("@slmops/device-plan");
  const warning = deviceMismatchWarning(await matchThisMachine(manifest, deviceId));
  if (warning) io.stderr.write(`${styleFor(io.stderrIsTTY, io.env).yellow("warning:")} ${terminalText(warning)}\n`);
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

const NOT_READABLE = "not readable";

async function runDoctor(context: CommandContext): Promise<number> {
  const { io, style } = context;
  const json = context.values.json === true;
  const deviceId = stringOption(context, "device", "doctor")?.trim();
  const manifestFlag = stringOption(context, "manifest", "doctor");

  let manifest: Manifest | undefined;
  let manifestDisplay = "";
  if (deviceId !== undefined) {
    const file = await resolveManifestPath(manifestFlag, io.cwd, manifestOptionWording("doctor"));
    manifestDisplay = file.display;
    manifest = await loadManifestUnchecked(file, io);
    if (!manifest) return ExitCode.failure;
  }

  const { collectFingerprint, cpuFeatures } = await import("@slmops/bench");
  const fingerprint = await collectFingerprint();
  const features = cpuFeatures(fingerprint["cpu-flags"]);
  const match = manifest && deviceId !== undefined ? await matchThisMachine(manifest, deviceId, fingerprint) : undefined;
  const available = os.freemem();

  if (json) {
    const output: DoctorJson = { fingerprint, "cpu-features": features, "memory-available-bytes": available, ...(match ? { device: match } : {}) };
    io.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  } else {
    io.stdout.write(formatMachine(fingerprint, features, available, style));
    if (match) io.stdout.write(formatMatch(match, manifestDisplay, style));
  }
  return match && !match.ok ? ExitCode.failure : ExitCode.ok;
}

function formatMachine(fp: Fingerprint, features: readonly string[], available: number, style: Style): string {
  const t = (s: string) => terminalText(s);
  const temperature = fp["cpu-temperature-celsius"];
  const rows: [string, string][] = [
    ["ONNX Runtime", `${t(fp["onnxruntime-version"])} (execution providers: ${t(fp["execution-providers"].join(", ")) || "none"})`],
    ["Node.js", t(fp["node-version"])],
    ["OS", `${t(fp.os)} ${t(fp["os-release"])} (${t(fp.arch)})`],
    ["CPU", t(fp["cpu-model"])],
    ["CPU features", features.length > 0 ? features.join(", ") : fp["cpu-flags"].length > 0 ? "none of those quantized models use" : NOT_READABLE],
    ["cores", `${fp["logical-cores"]} logical${fp["physical-cores"] === null ? "" : `, ${fp["physical-cores"]} physical`}`],
    ["memory", `${gib(fp["memory-bytes"])} total, ${gib(available)} available`],
    ["CPU governor", fp["cpu-governor"] === null ? NOT_READABLE : t(fp["cpu-governor"])],
    ["temperature", temperature === null ? NOT_READABLE : `${temperature.toFixed(1)} °C`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `  ${style.bold(k.padEnd(width))}  ${v}`).join("\n")}\n`;
}

function formatMatch(match: DeviceMatch, manifest: string, style: Style): string {
  const device = terminalText(match.device);
  const width = Math.max(...match.checks.map((c) => c.check.length));
  const lines = ["", `device \`${device}\` (${terminalText(manifest)}):`];
  for (const c of match.checks) lines.push(`  ${c.ok ? style.green("✓") : style.red("✗")} ${c.check.padEnd(width)}  ${terminalText(c.reason)}`);
  lines.push(match.ok ? `${style.green("✓")} this machine can act as device \`${device}\`.` : `${style.red("✗")} this machine cannot act as device \`${device}\`.`);
  return `${lines.join("\n")}\n`;
}
