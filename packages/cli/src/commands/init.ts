import { readdir, stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { writeFileAtomic } from "@slmops/atomic-file";
import { ensureOutputParent, readRegularFile } from "@slmops/contained-fs";
import { ConfigurationError, terminalText } from "@slmops/diagnostics";
import type { Command, CommandContext } from "../command.js";
import { jsonOption } from "../command.js";
import { ExitCode } from "../exit-codes.js";
import { MANIFEST_FILE_NAME } from "../manifest-path.js";
import { stringOption } from "../options.js";

/**
 * What a project outside this repository puts on its manifest's first line:
 * the schema of the release the caller workflow uses (`@v1`), so an editor
 * checks the file against the version that runs it.
 */
export const SCHEMA_URL = "https://raw.githubusercontent.com/slmops/slmops/v1/schemas/slmops.schema.json";
/** The reusable workflow the caller workflow calls. */
export const REUSABLE_WORKFLOW = "slmops/slmops/.github/workflows/slmops.yml@v1";
/** The directory slmops keeps built variants, references and reports in; never committed. */
export const WORK_DIR_ENTRY = ".slmops/";
/** Where `slmops init` writes the caller workflow, relative to the repository's top. */
export const CALLER_WORKFLOW = ".github/workflows/models.yml";

/** One model `slmops init` found. */
export interface FoundModel {
  readonly id: string;
  /** Paths relative to the project directory, `/`-separated. */
  readonly source: string;
  readonly kind: "decoder" | "generic";
  /** Bytes on disk of the source and its external data. */
  readonly bytes: number;
  readonly eval?: { readonly dataset: string; readonly tokenizer: string };
}

/** `slmops init --json` output. */
export interface InitJson {
  readonly dir: string;
  readonly models: readonly FoundModel[];
  /** Files written, relative to the working directory. */
  readonly written: readonly string[];
  /** Whether `.slmops/` was added to `.gitignore` (false: it was there already). */
  readonly gitignore: { readonly path: string; readonly added: boolean };
}

export const initCommand: Command = {
  name: "init",
  summary: "start a project: slmops.yaml for your model, .gitignore for .slmops/, and the pull-request workflow",
  description:
    "Writes a starter slmops.yaml into the directory (default: the working directory): the models found in it\n" +
    "(`models/<id>/model.onnx`, as `slmops make-model` and the example lay them out, or `model.onnx` at the\n" +
    "top; or the file --model names), each with int8 and int4 variants, the device `local` (any CPU machine,\n" +
    "GitHub's ubuntu-latest runner in CI), and accuracy gates against fp32 that those variants pass (no\n" +
    "latency gate a laptop fails). The eval set and tokenizer are found beside the model or under data/.\n" +
    `Adds ${WORK_DIR_ENTRY} to .gitignore and writes ${CALLER_WORKFLOW} (at the repository's top) calling the\n` +
    "reusable workflow. Asks nothing; an existing slmops.yaml or workflow is kept unless --force is given.\n" +
    "What it writes runs at once: slmops optimize, slmops bench --device local, slmops gate.",
  positionals: [{ name: "dir", description: "the project directory (default: the working directory)", optional: true }],
  options: {
    model: { type: "string", valueName: "path.onnx", description: "the fp32 ONNX model to start from, inside the directory (default: found)" },
    force: { type: "boolean", description: "overwrite an existing slmops.yaml and workflow" },
    json: jsonOption,
  },
  examples: ["slmops init", "slmops init --model models/my-lm/model.onnx", "slmops make-model --out models/story-lm && slmops init"],
  run: runInit,
};

const posix = (path: string) => path.split(sep).join("/");

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}

/** A manifest id from a file or directory name: lower-case, other characters as `-`. */
function idFrom(name: string): string {
  const id = name.toLowerCase().replace(/\.onnx$/, "").replace(/[^a-z0-9._-]+/g, "-").replace(/^[^a-z0-9]+/, "").slice(0, 64);
  return id === "" ? "model" : id;
}

/** The eval set and tokenizer of a model at `source` (relative to `dir`): `tokenizer.json` beside it, `eval.jsonl` beside it or `data/eval.jsonl`. */
async function evalOf(dir: string, source: string): Promise<FoundModel["eval"]> {
  const near = posix(dirname(source)) === "." ? "" : `${posix(dirname(source))}/`;
  const tokenizer = `${near}tokenizer.json`;
  if (!(await isFile(join(dir, tokenizer)))) return undefined;
  for (const dataset of [`${near}eval.jsonl`, "data/eval.jsonl"]) {
    if (await isFile(join(dir, dataset))) return { dataset, tokenizer };
  }
  return undefined;
}

/** Whether the model is a decoder ONNX Runtime runs token by token (Optimum's I/O), by opening it. */
async function kindOf(path: string, display: string): Promise<FoundModel["kind"]> {
  const { createSession, detectDecoder } = await import("@slmops/runtime");
  let session;
  try {
    session = await createSession(path);
  } catch (error) {
    if (error instanceof ConfigurationError) throw new ConfigurationError(`${display}: ONNX Runtime cannot load it (${error.message}). Pass an fp32 ONNX model with --model.`, { cause: error });
    throw error;
  }
  try {
    return detectDecoder(session) ? "decoder" : "generic";
  } finally {
    await session.release();
  }
}

/** The models to start from: the --model file, else `models/<id>/model.onnx`, else `model.onnx` at the top. */
async function findModels(dir: string, given: string | undefined, cwd: string): Promise<FoundModel[]> {
  const sources: { id: string; source: string }[] = [];
  if (given !== undefined) {
    const absolute = resolve(cwd, given);
    const inside = relative(dir, absolute);
    if (inside === "" || inside.startsWith("..") || isAbsolute(inside)) {
      throw new ConfigurationError(`--model ${given}: the model must be inside the project directory ${posix(relative(cwd, dir)) || "."} (slmops.yaml's paths stay inside the repository). Copy it there, e.g. to models/<id>/model.onnx.`);
    }
    if (!(await isFile(absolute))) throw new ConfigurationError(`--model ${given}: no such file. Pass the path of an fp32 .onnx model.`);
    if (!/\.onnx$/i.test(absolute)) throw new ConfigurationError(`--model ${given}: not an .onnx file. Pass the fp32 ONNX model (export one with Hugging Face Optimum, or make one with \`slmops make-model\`).`);
    const parent = basename(dirname(absolute));
    const stem = basename(absolute).replace(/\.onnx$/i, "");
    sources.push({ id: idFrom(stem === "model" && dirname(absolute) !== dir ? parent : stem === "model" ? basename(dir) : stem), source: posix(inside) });
  } else {
    const entries = await readdir(join(dir, "models"), { withFileTypes: true }).catch(() => []);
    for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const source = `models/${entry.name}/model.onnx`;
      if (await isFile(join(dir, source))) sources.push({ id: idFrom(entry.name), source });
    }
    if (sources.length === 0 && (await isFile(join(dir, "model.onnx")))) sources.push({ id: idFrom(basename(dir)), source: "model.onnx" });
  }
  if (sources.length === 0) {
    throw new ConfigurationError(
      `No model found in ${posix(relative(cwd, dir)) || "."}: looked for models/<id>/model.onnx and model.onnx. ` +
        "Pass one with --model path/to/model.onnx, or make one: slmops make-model --preset tiny --out models/story-lm",
    );
  }
  const ids = new Set<string>();
  const models: FoundModel[] = [];
  for (const { id, source } of sources) {
    let unique = id;
    for (let n = 2; ids.has(unique); n++) unique = `${id}-${n}`;
    ids.add(unique);
    const found = await evalOf(dir, source);
    const kind = await kindOf(join(dir, source), source);
    const { modelFiles } = await import("@slmops/bench");
    const { totalBytes } = await modelFiles(join(dir, source));
    models.push({ id: unique, source, kind, bytes: totalBytes, ...(found ? { eval: found } : {}) });
  }
  return models;
}

/** The starter manifest. */
export function starterManifest(models: readonly FoundModel[]): string {
  const lines = [
    `# yaml-language-server: $schema=${SCHEMA_URL}`,
    "#",
    "# Written by `slmops init`. Run the loop locally with",
    "#   slmops optimize && slmops bench --device local && slmops gate",
    "# and on every pull request with .github/workflows/models.yml. Add your edge devices under `devices:`",
    "# (their runs-on labels are your self-hosted runners' labels) and latency gates for them once measured.",
    "version: 1",
    "",
    "models:",
  ];
  for (const m of models) {
    lines.push(`  - id: ${m.id}`, `    source: ${m.source}`, `    kind: ${m.kind}`);
    if (m.eval) lines.push("    eval:", `      dataset: ${m.eval.dataset}`, `      tokenizer: ${m.eval.tokenizer}`);
    lines.push(
      "    variants:",
      "      - id: int8",
      "        passes:",
      "          - quantize: { weights: int8, accuracy-level: int8 }   # 8-bit weights; int8 compute on the CPU (fast)",
      "      - id: int4",
      "        passes:",
      "          - quantize: { weights: int4, block-size: 32 }",
    );
  }
  lines.push(
    "",
    "devices:",
    "  # Any CPU machine: a laptop with `slmops bench --device local`, GitHub's hosted runner in CI.",
    "  - id: local",
    "    description: Whatever machine runs the benchmark (CPU only).",
    "    runs-on: [ubuntu-latest]",
    "    execution-providers: [cpu]",
    "",
    "bench:",
    "  warmup: 3",
    "  min-iterations: 20",
    "  min-duration: 5s",
    "  prompt-tokens: 64",
    "  generate-tokens: 32",
    "  timeout: 30m",
    "",
    "gates:",
  );
  const withEval = models.filter((m) => m.eval).map((m) => m.id);
  if (withEval.length > 0) {
    const scope = withEval.length === models.length ? "" : ` of ${withEval.join(", ")}`;
    lines.push(
      "  # How far each variant may drift from the fp32 model on the eval set. 4-bit loses more than 8-bit;",
      "  # tighten the limits once you have seen your model's figures (slmops gate prints them).",
      `  - name: int8 accuracy against fp32${scope}`,
      `    variants: [${withEval.map((id) => `${id}/int8`).join(", ")}]`,
      "    require:",
      "      kl-divergence: { max: 0.05 }",
      "      top-1-agreement: { min: 90% }",
      `  - name: int4 accuracy against fp32${scope}`,
      `    variants: [${withEval.map((id) => `${id}/int4`).join(", ")}]`,
      "    require:",
      "      kl-divergence: { max: 0.5 }",
      "      top-1-agreement: { min: 60% }",
    );
  }
  lines.push("  # A quantized variant no smaller than its fp32 source did not quantize. Add latency and memory limits per device later.");
  for (const m of models) {
    lines.push(
      `  - name: ${m.id} variants smaller than fp32`,
      `    variants: [${m.id}/int8, ${m.id}/int4]`,
      "    require:",
      `      model-size: { max: ${Math.max(1, Math.ceil(m.bytes / 2 ** 20))}MiB }`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** The caller workflow, for a manifest at `manifest` (relative to the repository's top). */
export function callerWorkflow(manifest: string, branch: string): string {
  return [
    "# Written by `slmops init`. On every pull request and push: validate slmops.yaml, build the variants,",
    "# benchmark them on the devices the change touches, and gate. `slmops plan` shows the devices locally.",
    "name: models",
    "",
    "on:",
    "  pull_request:",
    "  push:",
    `    branches: [${JSON.stringify(branch)}]`,
    "  workflow_dispatch:",
    "",
    "permissions: {}",
    "",
    "concurrency:",
    "  group: models-${{ github.ref }}",
    "  cancel-in-progress: true",
    "",
    "jobs:",
    "  slmops:",
    "    # Pin to a release commit for a fixed version; @v1 follows the latest 1.x.",
    `    uses: ${REUSABLE_WORKFLOW}`,
    "    permissions:",
    "      contents: read",
    "      actions: read",
    "      pull-requests: write",
    "      checks: write",
    "    with:",
    `      manifest: ${JSON.stringify(manifest)}`,
    "",
  ].join("\n");
}

async function git(args: readonly string[], cwd: string): Promise<string | undefined> {
  const { execFile } = await import("node:child_process");
  return new Promise((done) => {
    execFile("git", [...args], { cwd, encoding: "utf8", env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } }, (error, stdout) => done(error ? undefined : stdout.trim()));
  });
}

/** The repository's top and default branch (origin's, else the configured default, else the current branch, else `main`). */
async function repository(dir: string): Promise<{ top: string; branch: string }> {
  const top = (await git(["rev-parse", "--show-toplevel"], dir)) || dir;
  const origin = (await git(["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"], dir))?.replace(/^origin\//, "");
  const branch = origin || (await git(["config", "init.defaultBranch"], dir)) || (await git(["symbolic-ref", "--quiet", "--short", "HEAD"], dir)) || "main";
  return { top: resolve(top), branch };
}

/** Appends `.slmops/` to `.gitignore` unless a line already ignores it; creates the file when missing. */
async function ignoreWorkDir(dir: string, path: string): Promise<boolean> {
  let text = "";
  if (await stat(path).catch(() => undefined)) text = new TextDecoder().decode(await readRegularFile(path, { maxBytes: 1024 * 1024, what: ".gitignore" }));
  const covered = text.split(/\r?\n/).some((line) => ["", "/"].some((lead) => [".slmops", ".slmops/"].some((entry) => line.trim() === `${lead}${entry}`)));
  if (covered) return false;
  const separator = text === "" || text.endsWith("\n") ? "" : "\n";
  await writeFileAtomic(await ensureOutputParent(dir, path), `${text}${separator}# slmops: built variants, references and reports\n${WORK_DIR_ENTRY}\n`);
  return true;
}

async function runInit(context: CommandContext): Promise<number> {
  const { io, style } = context;
  const json = context.values.json === true;
  const force = context.values.force === true;
  const given = context.positionals[0];
  const dir = resolve(io.cwd, given ?? ".");
  const show = (path: string) => posix(relative(io.cwd, path)) || ".";
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new ConfigurationError(`${given ?? "."}: not a directory. Pass the project directory (create it first, or run \`slmops make-model --out ${given ?? "."}/models/<id>\`).`);

  const models = await findModels(dir, stringOption(context, "model", "init"), io.cwd);
  const repo = await repository(dir);
  const manifestPath = join(dir, MANIFEST_FILE_NAME);
  const workflowPath = join(repo.top, ...CALLER_WORKFLOW.split("/"));
  const targets = [manifestPath, workflowPath];

  if (!force) {
    const existing = [];
    for (const path of targets) if (await stat(path).catch(() => undefined)) existing.push(show(path));
    if (existing.length > 0) {
      throw new ConfigurationError(`${terminalText(existing.join(" and "))} already exist${existing.length === 1 ? "s" : ""}; nothing was written. Pass --force to overwrite, or move ${existing.length === 1 ? "it" : "them"} aside.`);
    }
  }

  const manifestInRepository = posix(relative(repo.top, manifestPath));
  await writeFileAtomic(await ensureOutputParent(dir, manifestPath), starterManifest(models));
  await writeFileAtomic(await ensureOutputParent(repo.top, workflowPath), callerWorkflow(manifestInRepository, repo.branch));
  const gitignorePath = join(dir, ".gitignore");
  const added = await ignoreWorkDir(dir, gitignorePath);

  if (json) {
    const output: InitJson = { dir: show(dir), models, written: targets.map(show), gitignore: { path: show(gitignorePath), added } };
    io.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return ExitCode.ok;
  }
  const t = (s: string) => terminalText(s);
  const lines = [`${style.green("✓")} wrote ${t(show(manifestPath))}:`];
  for (const m of models) lines.push(`    model ${t(m.id)} (${m.kind}) from ${t(m.source)}${m.eval ? `, eval ${t(m.eval.dataset)}` : ", no eval set found (accuracy gates need one)"}; variants int8, int4`);
  lines.push("    device local; gates on accuracy against fp32 and variant size");
  lines.push(`${style.green("✓")} wrote ${t(show(workflowPath))} (calls ${REUSABLE_WORKFLOW}, pushes to ${t(repo.branch)})`);
  lines.push(added ? `${style.green("✓")} added ${WORK_DIR_ENTRY} to ${t(show(gitignorePath))}` : `  ${t(show(gitignorePath))} already ignores ${WORK_DIR_ENTRY}`);
  const at = given === undefined ? "" : ` --manifest ${t(show(manifestPath))}`;
  lines.push(
    "",
    "Next:",
    `  slmops validate${given === undefined ? "" : ` ${t(show(manifestPath))}`}`,
    `  slmops optimize${at}`,
    // bench writes .slmops/reports/<device>.json beside the manifest, where gate reads by default.
    `  slmops bench${at} --device local`,
    `  slmops gate${at}`,
  );
  io.stdout.write(`${lines.join("\n")}\n`);
  return ExitCode.ok;
}
