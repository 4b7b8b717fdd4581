/**
 * `mode: plan`: reads the event, the files the change touched and the base
 * branch's manifest, and outputs the device matrix (and the refused devices).
 */
import { readFile, stat } from "node:fs/promises";
import * as core from "@actions/core";
import { getBooleanInput, heading, paragraph, setOutputs, table, writeSummary, details, escapeHtml } from "@slmops/action-kit";
import { ConfigurationError } from "@slmops/diagnostics";
import { changeFromGit, changeRange, InvalidEventError, planDevices, readChangeEvent } from "@slmops/device-plan";
import type { ChangeEvent, DevicePlan, GitChange } from "@slmops/device-plan";
import { loadActionManifest } from "./manifest-input.js";

/** GitHub caps webhook payloads at 25 MB. */
const MAX_EVENT_BYTES = 25 * 1024 * 1024;

async function readEvent(env: NodeJS.ProcessEnv): Promise<ChangeEvent> {
  const name = env.GITHUB_EVENT_NAME ?? "";
  const path = env.GITHUB_EVENT_PATH ?? "";
  if (name === "" || path === "") return { kind: "other", name: name || "unknown" };
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new Error(`the event payload ${path} (GITHUB_EVENT_PATH) is missing`);
  if (info.size > MAX_EVENT_BYTES) throw new Error(`the event payload is ${info.size} bytes, more than GitHub sends (${MAX_EVENT_BYTES})`);
  try {
    return readChangeEvent(name, JSON.parse(await readFile(path, "utf8")) as unknown);
  } catch (error) {
    if (error instanceof InvalidEventError || error instanceof SyntaxError) {
      throw new ConfigurationError(`The ${name} event payload (GITHUB_EVENT_PATH) is not usable: ${error.message}.`, { cause: error });
    }
    throw error;
  }
}

function describeEvent(event: ChangeEvent): string {
  if (event.kind === "pull-request") {
    return `pull request #${event.number}${event.fromFork ? ` from the fork \`${event.headRepo ?? "(deleted)"}\`` : ""} into \`${event.baseRef}\``;
  }
  if (event.kind === "push") return event.before ? `push ${event.before.slice(0, 7)}…${(event.after ?? "").slice(0, 7)}` : "push of a new branch";
  return `\`${event.name}\` event`;
}

/** The change to plan for: changed files and the base manifest, or none when the event has no range (or git cannot tell). */
function changeOf(event: ChangeEvent, manifestFile: string, root: string): Promise<GitChange> {
  const range = changeRange(event);
  return changeFromGit({ manifestFile, root, ...(range ? { range } : {}) });
}

/** `mode: plan`. */
export async function planMode(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const loaded = await loadActionManifest({ checkFiles: false });
  const event = await readEvent(env);
  const all = getBooleanInput("all-devices", { fallback: false });
  const allowForks = getBooleanInput("allow-forks", { fallback: false });
  const context = await changeOf(event, loaded.file, loaded.root);
  if (context.note) core.warning(context.note);
  const plan = planDevices({
    manifest: loaded.manifest,
    ...(context.change ? { change: context.change } : {}),
    rootInRepository: context.rootInRepository,
    all,
    requester: { fromFork: event.kind === "pull-request" && event.fromFork, allowForks },
  });

  for (const refused of plan.refused) core.warning(`device \`${refused.device}\` not benchmarked: ${refused.reason}`, { title: "device refused" });
  const verdict = verdictOf(plan);
  core.info(`${describeEvent(event)}: ${verdict}`);
  await writeSummary(planSummary(plan, describeEvent(event), verdict, context.note));
  setOutputs({
    matrix: JSON.stringify(plan.matrix),
    "device-count": String(plan.matrix.include.length),
    refused: JSON.stringify(plan.refused),
  });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function verdictOf(plan: DevicePlan): string {
  const planned = plan.matrix.include.length;
  const parts = [`${plural(planned, "device")} to benchmark`];
  if (plan.refused.length > 0) parts.push(`${plan.refused.length} refused`);
  if (plan.untouched.length > 0) parts.push(`${plan.untouched.length} not touched by this change`);
  return parts.join(", ");
}

function planSummary(plan: DevicePlan, event: string, verdict: string, note: string | undefined): string[] {
  const fragments = [heading("slmops device plan"), paragraph(`${event}: ${verdict}.`)];
  if (note) fragments.push(paragraph(`⚠️ ${note}`));
  if (plan.matrix.include.length > 0) {
    fragments.push(
      table(
        ["device", "runs-on", "variants", "why"],
        plan.matrix.include.map((e) => [e.device, e["runs-on"].join(", "), e.variants.join(", "), (plan.reasons[e.device] ?? []).join("; ")]),
      ),
    );
  }
  if (plan.refused.length > 0) {
    fragments.push(heading("Refused", 3), table(["device", "runs-on", "variants", "reason"], plan.refused.map((r) => [r.device, r["runs-on"].join(", "), r.variants.join(", "), r.reason])));
  }
  if (plan.untouched.length > 0) fragments.push(details("Devices this change does not touch", escapeHtml(plan.untouched.join(", "))));
  return fragments;
}
