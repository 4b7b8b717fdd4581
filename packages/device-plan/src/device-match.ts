/**
 * Whether a machine can act as a device of the manifest: its operating system
 * and architecture against what the device's `runs-on` labels say, the
 * execution providers its ONNX Runtime offers against the device's, and its
 * memory against the device's memory budget. `slmops doctor --device` shows
 * every check; `slmops bench --device` warns when one fails.
 */
import type { Device } from "@slmops/manifest";

/** What is known about the machine at hand (`os.platform()`, `os.arch()`, ONNX Runtime's providers, `os.totalmem()`). */
export interface MachineFacts {
  readonly os: string;
  readonly arch: string;
  readonly executionProviders: readonly string[];
  readonly memoryBytes: number;
}

export type DeviceCheckName = "os" | "arch" | "execution-providers" | "memory";

/** One check: passed or not, and why, in words. */
export interface DeviceCheck {
  readonly check: DeviceCheckName;
  readonly ok: boolean;
  readonly reason: string;
}

export interface DeviceMatch {
  readonly device: string;
  /** Every check passed. */
  readonly ok: boolean;
  readonly checks: readonly DeviceCheck[];
}

/** Architecture runner labels (GitHub's self-hosted runner labels and common aliases) → `os.arch()` values. */
const ARCH_LABELS: Readonly<Record<string, string>> = {
  x64: "x64",
  amd64: "x64",
  x86_64: "x64",
  arm64: "arm64",
  aarch64: "arm64",
  arm: "arm",
  armv7: "arm",
  armv7l: "arm",
  x86: "ia32",
  ia32: "ia32",
};

/** Operating-system runner labels → `os.platform()` values. */
const OS_LABELS: Readonly<Record<string, string>> = { linux: "linux", macos: "darwin", osx: "darwin", darwin: "darwin", windows: "win32", win32: "win32" };

const OS_NAMES: Readonly<Record<string, string>> = { linux: "Linux", darwin: "macOS", win32: "Windows" };

/** What a GitHub-hosted runner label (`ubuntu-24.04`, `ubuntu-24.04-arm`, `windows-latest`, `macos-15`) says of its machine. */
function hostedImage(label: string): { os?: string; arch?: string } | undefined {
  const arm = /-arm(64)?$/.test(label);
  if (/^ubuntu-/.test(label)) return { os: "linux", arch: arm ? "arm64" : "x64" };
  if (/^windows-/.test(label)) return { os: "win32", arch: arm ? "arm64" : "x64" };
  if (/^macos-/.test(label)) return { os: "darwin", arch: /intel|^macos-13(-|$)|-large$/.test(label) ? "x64" : "arm64" };
  return undefined;
}

/** The operating system and architecture a device's `runs-on` labels ask for, where they say; each with the label that says it. */
export function labelRequirements(runsOn: readonly string[]): { os?: { value: string; label: string }; arch?: { value: string; label: string } } {
  let os: { value: string; label: string } | undefined;
  let arch: { value: string; label: string } | undefined;
  for (const label of runsOn) {
    const lower = label.toLowerCase();
    const archValue = ARCH_LABELS[lower];
    const osValue = OS_LABELS[lower];
    if (archValue && !arch) arch = { value: archValue, label };
    if (osValue && !os) os = { value: osValue, label };
    const image = hostedImage(lower);
    if (image?.os && !os) os = { value: image.os, label };
    if (image?.arch && !arch) arch = { value: image.arch, label };
  }
  return { ...(os ? { os } : {}), ...(arch ? { arch } : {}) };
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

function osName(os: string): string {
  return OS_NAMES[os] ?? os;
}

/** Checks whether `machine` can act as `device`; a label that says nothing of a check passes it with the reason. */
export function matchDevice(device: Pick<Device, "id" | "runsOn" | "executionProviders" | "memoryBudgetBytes">, machine: MachineFacts): DeviceMatch {
  const wanted = labelRequirements(device.runsOn);
  const labels = device.runsOn.length === 0 ? "no runs-on labels" : `runs-on [${device.runsOn.join(", ")}]`;
  const checks: DeviceCheck[] = [];

  checks.push(
    wanted.os
      ? {
          check: "os",
          ok: wanted.os.value === machine.os,
          reason:
            wanted.os.value === machine.os
              ? `this machine runs ${osName(machine.os)}, as \`${wanted.os.label}\` asks`
              : `this machine runs ${osName(machine.os)}; \`${wanted.os.label}\` asks for ${osName(wanted.os.value)}`,
        }
      : { check: "os", ok: true, reason: `${labels} name no operating system` },
  );
  checks.push(
    wanted.arch
      ? {
          check: "arch",
          ok: wanted.arch.value === machine.arch,
          reason:
            wanted.arch.value === machine.arch
              ? `this machine is ${machine.arch}, as \`${wanted.arch.label}\` asks`
              : `this machine is ${machine.arch}; \`${wanted.arch.label}\` asks for ${wanted.arch.value}`,
        }
      : { check: "arch", ok: true, reason: `${labels} name no architecture` },
  );

  const available = machine.executionProviders.map((p) => p.toLowerCase());
  const missing = device.executionProviders.filter((p) => !available.includes(p.toLowerCase()));
  checks.push({
    check: "execution-providers",
    ok: missing.length === 0,
    reason:
      missing.length === 0
        ? `ONNX Runtime here offers ${device.executionProviders.join(", ")} (available: ${available.join(", ")})`
        : `ONNX Runtime here lacks ${missing.join(", ")} (available: ${available.join(", ") || "none"})`,
  });

  const budget = device.memoryBudgetBytes;
  checks.push(
    budget === undefined
      ? { check: "memory", ok: true, reason: `the device has no memory budget (this machine has ${gib(machine.memoryBytes)})` }
      : {
          check: "memory",
          ok: machine.memoryBytes >= budget,
          reason:
            machine.memoryBytes >= budget
              ? `this machine has ${gib(machine.memoryBytes)}, at least the budget of ${gib(budget)}`
              : `this machine has ${gib(machine.memoryBytes)}, less than the budget of ${gib(budget)}`,
        },
  );
  return { device: device.id, ok: checks.every((c) => c.ok), checks };
}

/** One line for a warning: why this machine cannot act as the device (the failed checks), or undefined when it can. */
export function deviceMismatchWarning(match: DeviceMatch): string | undefined {
  const failed = match.checks.filter((c) => !c.ok);
  if (failed.length === 0) return undefined;
  return (
    `this machine does not match device \`${match.device}\`: ${failed.map((c) => c.reason).join("; ")}. ` +
    `The report records this machine's fingerprint; run on the device itself for its figures (see \`slmops doctor --device ${match.device}\`).`
  );
}
