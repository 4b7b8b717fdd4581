import { stat } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { ConfigurationError, compareDiagnostics, terminalText } from "@slmops/diagnostics";
import type { DevicePlan, LocalRange } from "@slmops/device-plan";
import type { Manifest, ManifestResult } from "@slmops/manifest";
import type { Command, CommandContext } from "../command.js";
import { jsonOption } from "../command.js";
import { styleDiagnostic } from "../diagnostic-style.js";
import { ExitCode } from "../exit-codes.js";
import { styleFor, type Io, type Style } from "../io.js";
import { MANIFEST_FILE_NAME, manifestOptionWording, resolveManifestPath, type ManifestPath } from "../manifest-path.js";
import { stringOption } from "../options.js";
import { count } from "../words.js";

/** `slmops plan --json` output: what the action's plan mode outputs, and the range compared. */
export interface PlanJson {
  /** The base commit compared with, or null when there is none. */
  readonly base: string | null;
  /** The head commit, or null for the working tree. */
  readonly head: string | null;
  /** The range in words. */
  readonly range: string;
  /** The action's `matrix` output. */
  readonly matrix: DevicePlan["matrix"];
  /** The action's `refused` output. */
  readonly refused: DevicePlan["refused"];
  readonly untouched: DevicePlan["untouched"];
  readonly reasons: DevicePlan["reasons"];
  /** How the change was read, when git could not tell everything. */
  readonly note?: string;
}

export const planCommand: Command = {
  name: "plan",
  summary: "print the device matrix a change touches, as the bench-on-device-matrix action plans it",
  description:
    "Compares two states of the repository with git and plans the benchmark jobs exactly as the action's\n" +
    "plan mode does (the same function): which devices run which variants, which are refused, and why.\n" +
    "The head is the working tree (uncommitted and untracked files included) unless --head names a commit.\n" +
    "The base is --base, else where this branch left the default branch (merge base with origin/HEAD,\n" +
    "main or master: what a pull request shows), else — on the default branch — HEAD when the working\n" +
    "tree has changes and HEAD~1 when it has none (what a push of the last commit plans).\n" +
    "With --json, stdout holds the action's `matrix` and `refused` outputs. Exits 0 whatever is planned.",
  positionals: [],
  options: {
    manifest: { type: "string", valueName: "path", description: `the manifest, or a directory holding ${MANIFEST_FILE_NAME} (default ./${MANIFEST_FILE_NAME})` },
    base: { type: "string", valueName: "ref", description: "the state before the change: a branch, tag or commit (default: see above)" },
    head: { type: "string", valueName: "ref", description: "the state after the change (default: the working tree)" },
    all: { type: "boolean", description: "plan every device and variant, whatever the change (the action's all-devices)" },
    "from-fork": { type: "boolean", description: "plan as for a pull request from a fork: self-hosted devices are refused unless the base allows them" },
    json: jsonOption,
  },
  examples: ["slmops plan", "slmops plan --base main --head my-branch", "slmops plan --base HEAD~3 --json | jq .matrix"],
  run: runPlan,
};

function display(cwd: string, path: string): string {
  return relative(cwd, path).split(sep).join("/") || ".";
}

/** The manifest's path when it is read from a commit: it need not exist in the working tree. */
async function manifestPathForCommit(given: string | undefined, cwd: string): Promise<{ absolute: string; display: string }> {
  let absolute = resolve(cwd, given ?? MANIFEST_FILE_NAME);
  const info = await stat(absolute).catch(() => undefined);
  if (info?.isDirectory()) absolute = join(absolute, MANIFEST_FILE_NAME);
  return { absolute, display: display(cwd, absolute) };
}

/** Writes a manifest's diagnostics to stderr; an invalid manifest also gets the one-line summary. Gives the manifest when it loaded. */
function reportLoaded(result: ManifestResult, display: string, io: Io): Manifest | undefined {
  const style = styleFor(io.stderrIsTTY, io.env);
  for (const d of [...result.diagnostics].sort(compareDiagnostics)) io.stderr.write(`${styleDiagnostic(d, style)}\n`);
  if (result.ok) return result.manifest;
  const errors = result.diagnostics.filter((d) => d.severity === "error").length;
  io.stderr.write(`${style.red("✗")} ${display} is invalid: ${count(errors, "error")}. Fix it (see \`slmops validate\`) and run again.\n`);
  return undefined;
}

/**
 * Loads a manifest without checking that the files it names exist (a plan or
 * a device check needs none of them), diagnostics on stderr.
 */
export async function loadManifestUnchecked(file: ManifestPath, io: Io): Promise<Manifest | undefined> {
  const { loadManifest } = await import("@slmops/manifest");
  return reportLoaded(await loadManifest(file.absolute, { checkFiles: false, displayPath: file.display }), file.display, io);
}

async function runPlan(context: CommandContext): Promise<number> {
  const { io, style } = context;
  const err = styleFor(io.stderrIsTTY, io.env);
  const json = context.values.json === true;
  const manifestFlag = stringOption(context, "manifest", "plan");
  const baseFlag = stringOption(context, "base", "plan");
  const headFlag = stringOption(context, "head", "plan");
  const { changeFromGit, fileAt, localRange, planDevices, repositoryTop, UnknownRefError } = await import("@slmops/device-plan");
  const { parseManifest } = await import("@slmops/manifest");

  const file = headFlag === undefined ? await resolveManifestPath(manifestFlag, io.cwd, manifestOptionWording("plan")) : await manifestPathForCommit(manifestFlag, io.cwd);
  const root = dirname(file.absolute);
  const top = await repositoryTop(root).catch(() => undefined);
  if (!top && (baseFlag !== undefined || headFlag !== undefined)) {
    throw new ConfigurationError(`${file.display} is not in a git repository, so --base and --head name nothing. Run slmops plan inside the repository's checkout.`);
  }

  let range: LocalRange | undefined;
  if (top) {
    try {
      range = await localRange(root, { ...(baseFlag !== undefined ? { base: baseFlag } : {}), ...(headFlag !== undefined ? { head: headFlag } : {}) });
    } catch (error) {
      if (error instanceof UnknownRefError) throw new ConfigurationError(`${terminalText(error.message)}.`, { cause: error });
      throw error;
    }
  }

  let manifest: Manifest | undefined;
  if (range?.head !== undefined && top) {
    const inRepository = relative(top, file.absolute).split(sep).join("/");
    const text = await fileAt(top, range.head, inRepository);
    if (text === undefined) throw new ConfigurationError(`${file.display} does not exist on ${terminalText(headFlag ?? "")}; pass --manifest with its path there.`);
    const display = `${file.display} (${terminalText(headFlag ?? "")})`;
    manifest = reportLoaded(await parseManifest(text, { file: file.absolute, root, checkFiles: false, displayPath: display }), display, io);
  } else {
    manifest = await loadManifestUnchecked(file, io);
  }
  if (!manifest) return ExitCode.failure;

  const gitChange = await changeFromGit({
    manifestFile: file.absolute,
    root,
    ...(range?.base !== undefined ? { range: { base: range.base, ...(range.head !== undefined ? { head: range.head } : {}) } } : {}),
  });
  const plan = planDevices({
    manifest,
    ...(gitChange.change ? { change: gitChange.change } : {}),
    rootInRepository: gitChange.rootInRepository,
    all: context.values.all === true,
    requester: { fromFork: context.values["from-fork"] === true },
  });
  const note = gitChange.note;
  const rangeWords = range?.description ?? "no git repository";

  if (json) {
    const output: PlanJson = {
      base: range?.base ?? null,
      head: range?.head ?? null,
      range: rangeWords,
      matrix: plan.matrix,
      refused: plan.refused,
      untouched: plan.untouched,
      reasons: plan.reasons,
      ...(note ? { note } : {}),
    };
    io.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return ExitCode.ok;
  }
  if (note) io.stderr.write(`${err.yellow("warning:")} ${terminalText(note)}\n`);
  io.stdout.write(formatPlan(plan, rangeWords, style));
  return ExitCode.ok;
}

function verdictOf(plan: DevicePlan): string {
  const parts = [`${count(plan.matrix.include.length, "device")} to benchmark`];
  if (plan.refused.length > 0) parts.push(`${plan.refused.length} refused`);
  if (plan.untouched.length > 0) parts.push(`${plan.untouched.length} not touched by this change`);
  return parts.join(", ");
}

function formatPlan(plan: DevicePlan, range: string, style: Style): string {
  const t = (s: string) => terminalText(s);
  const lines = [`${t(range)}: ${verdictOf(plan)}`];
  for (const entry of plan.matrix.include) {
    lines.push(`  ${style.green("✓")} ${style.bold(t(entry.device))}  runs-on [${t(entry["runs-on"].join(", "))}]: ${t(entry.variants.join(", "))}`);
    for (const reason of plan.reasons[entry.device] ?? []) lines.push(`      ${style.dim(`because ${t(reason)}`)}`);
  }
  for (const refused of plan.refused) {
    lines.push(`  ${style.red("✗")} ${style.bold(t(refused.device))}  refused: ${t(refused.reason)} (${t(refused.variants.join(", "))})`);
  }
  if (plan.untouched.length > 0) lines.push(`  ${style.dim(`not touched: ${t(plan.untouched.join(", "))}`)}`);
  return `${lines.join("\n")}\n`;
}
