/**
 * The device fingerprint: what this machine is, so figures are compared only
 * with figures from the same kind of machine. Linux details (CPU flags,
 * physical cores, frequency governor, temperature) come from /proc and /sys
 * where the OS exposes them, and are null or empty elsewhere.
 */
import { readFile, readdir } from "node:fs/promises";
import os from "node:os";
import { runtimeInfo } from "@slmops/runtime";
import type { FingerprintJson } from "./report.js";

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Parses `/proc/cpuinfo`: flags (x86 `flags`, Arm `Features`), model name, physical core count. */
export function parseCpuInfo(text: string): { flags: string[]; model: string | undefined; physicalCores: number | undefined } {
  const flags = new Set<string>();
  let model: string | undefined;
  const cores = new Set<string>();
  let physicalId = "0";
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === "flags" || key === "Features") {
      for (const f of value.split(/\s+/)) if (f) flags.add(f);
    } else if ((key === "model name" || key === "Model" || key === "Hardware") && !model && value) model = value;
    else if (key === "physical id") physicalId = value;
    else if (key === "core id") cores.add(`${physicalId}:${value}`);
  }
  return { flags: [...flags].sort(), model, physicalCores: cores.size > 0 ? cores.size : undefined };
}

/** Highest temperature over /sys/class/thermal zones, in °C, or null. */
async function cpuTemperature(): Promise<number | null> {
  const base = "/sys/class/thermal";
  const zones = await readdir(base).catch(() => [] as string[]);
  let highest: number | null = null;
  for (const zone of zones.filter((z) => z.startsWith("thermal_zone"))) {
    const milli = Number((await readText(`${base}/${zone}/temp`))?.trim());
    if (Number.isFinite(milli) && milli > -50_000 && milli < 200_000) highest = Math.max(highest ?? -Infinity, milli / 1000);
  }
  return highest;
}

/** Runner labels given by the caller, else the comma- or space-separated `RUNNER_LABELS` environment variable. */
export function runnerLabels(given: readonly string[] | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  if (given) return [...given];
  return (env.RUNNER_LABELS ?? "")
    .split(/[\s,]+/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .slice(0, 100);
}

export async function collectFingerprint(labels?: readonly string[]): Promise<FingerprintJson> {
  const cpuinfo = parseCpuInfo((await readText("/proc/cpuinfo")) ?? "");
  const cpus = os.cpus();
  const runtime = runtimeInfo();
  const governor = (await readText("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"))?.trim();
  return {
    "cpu-model": cpus[0]?.model.trim() || cpuinfo.model || "unknown",
    "cpu-flags": cpuinfo.flags,
    "logical-cores": os.availableParallelism(),
    "physical-cores": cpuinfo.physicalCores ?? null,
    "memory-bytes": os.totalmem(),
    os: os.platform(),
    "os-release": os.release(),
    arch: os.arch(),
    "node-version": process.versions.node,
    "onnxruntime-version": runtime.onnxruntimeVersion,
    "execution-providers": [...runtime.executionProviders],
    "runner-labels": runnerLabels(labels),
    "cpu-governor": governor || null,
    "cpu-temperature-celsius": await cpuTemperature(),
  };
}

/**
 * CPU features that decide how fast quantized models run, by the names
 * people know them (x86: `avx2`, `avx512f`, `avx512_vnni`, `avx_vnni`, `amx_int8` …;
 * Arm: `neon`, `dotprod`, `i8mm`, `sve` …), from the flags /proc/cpuinfo lists
 * (Arm's `asimd` is NEON, `asimddp` the dot product, `asimdhp` fp16
 * arithmetic). The order is the list's below; flags not in it are left out.
 */
export function cpuFeatures(flags: readonly string[]): string[] {
  const have = new Set(flags.map((f) => f.toLowerCase()));
  return CPU_FEATURES.filter(([, names]) => names.some((n) => have.has(n))).map(([feature]) => feature);
}

const CPU_FEATURES: readonly (readonly [string, readonly string[]])[] = [
  ["sse4_2", ["sse4_2"]],
  ["avx", ["avx"]],
  ["avx2", ["avx2"]],
  ["fma", ["fma"]],
  ["f16c", ["f16c"]],
  ["avx_vnni", ["avx_vnni"]],
  ["avx512f", ["avx512f"]],
  ["avx512bw", ["avx512bw"]],
  ["avx512_vnni", ["avx512_vnni", "avx512vnni"]],
  ["avx512_bf16", ["avx512_bf16"]],
  ["avx512_fp16", ["avx512_fp16"]],
  ["amx_int8", ["amx_int8"]],
  ["amx_bf16", ["amx_bf16"]],
  ["neon", ["asimd", "neon"]],
  ["fp16", ["asimdhp", "fphp"]],
  ["dotprod", ["asimddp"]],
  ["i8mm", ["i8mm"]],
  ["bf16", ["bf16"]],
  ["sve", ["sve"]],
  ["sve2", ["sve2"]],
  ["sme", ["sme"]],
];
