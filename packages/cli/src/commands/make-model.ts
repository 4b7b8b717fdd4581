import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { formatSize } from "@slmops/units";
import { ConfigurationError } from "@slmops/diagnostics";
import { PRESET_NAMES, PRESETS, parameterCount, type ModelOptions } from "@slmops/model-maker/config";
import { MODEL_FLAGS, modelOptionsFromFlags } from "@slmops/model-maker/flags";
import type { Command, CommandContext, OptionSpec } from "../command.js";
import { jsonOption } from "../command.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { writingOutput } from "../output-path.js";
import { ProgressLine, progressBar, terminalColumns } from "../progress.js";
import { closest } from "../suggest.js";

/** One file `slmops make-model` wrote. */
export interface MadeFile {
  /** What the file is: model, modelData (external weights), genaiConfig, tokenizer, tokenizerConfig, eval or config. */
  readonly kind: string;
  /** Path relative to the working directory (absolute when `--out` was). */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** `slmops make-model --json` output. */
export interface MakeModelJson {
  readonly out: string;
  readonly preset: string;
  readonly parameters: number;
  /** The resolved configuration (preset plus flags). */
  readonly config: Readonly<Record<string, number | boolean | string>>;
  readonly files: readonly MadeFile[];
}

const PHASES: Readonly<Record<string, string>> = {
  weights: "making weights",
  encode: "encoding model.onnx",
  tokenizer: "training the tokenizer",
  eval: "writing the eval set",
  write: "writing files",
};

function presetLines(): string {
  const rows = PRESET_NAMES.map((name) => {
    const p = PRESETS[name];
    const params = parameterCount(p).toLocaleString("en-US");
    return `  ${name.padEnd(7)} ${params.padStart(12)} parameters  (layers ${p.layers}, hidden ${p.hidden}, heads ${p.heads}/${p.kvHeads}, vocab ${p.vocab}, context ${p.context})`;
  });
  return rows.join("\n");
}

/** Value placeholders shown in help, by the kind of a maker flag. */
const VALUE_NAMES: Readonly<Record<string, string>> = { integer: "n", number: "x", preset: "name", fit: "mode" };

/** The command's options: `--out`, every flag the maker defines, `--untied` and `--json`. */
function makeModelOptionSpecs(): Record<string, OptionSpec> {
  const specs: Record<string, OptionSpec> = {
    out: { type: "string", valueName: "dir", description: "directory to write the project into (created if missing)" },
    "graph-layout": {
      type: "string",
      valueName: "layout",
      description:
        "how the graph is laid out: plain (default), optimum-merged (Optimum's decoder_model_merged.onnx: an If on use_cache_branch, weights in external data) or genai (ONNX Runtime GenAI's builder: GroupQueryAttention, with genai_config.json)",
    },
  };
  for (const flag of MODEL_FLAGS) {
    specs[flag.name] =
      flag.kind === "boolean"
        ? { type: "boolean", description: flag.description }
        : { type: "string", valueName: VALUE_NAMES[flag.kind] ?? "value", description: flag.description };
    if (flag.name === "tied") specs.untied = { type: "boolean", description: "give the LM head its own weights" };
  }
  specs.json = jsonOption;
  return specs;
}

export const makeModelCommand: Command = {
  name: "make-model",
  summary: "write a small Llama-style decoder as ONNX, with its tokenizer and eval set, from a seed",
  // Made when help is shown: counting the presets' parameters at load would slow every command's start.
  get description(): string {
    return (
      "Writes a complete model project into --out: model.onnx (fp32, opset 17, Hugging Face Optimum decoder I/O),\n" +
      "tokenizer.json and tokenizer_config.json (byte-level BPE), eval.jsonl and config.json.\n" +
      "The same flags always give byte-identical files. Start from a preset and override any size.\n\n" +
      `Presets (default tiny):\n${presetLines()}`
    );
  },
  positionals: [],
  options: makeModelOptionSpecs(),
  examples: [
    "slmops make-model --out models/story-lm",
    "slmops make-model --preset small --kv-heads 1 --seed 7 --out models/story-lm",
    "slmops make-model --preset nano --layers 2 --untied --out /tmp/m --json",
    "slmops make-model --preset nano --graph-layout optimum-merged --out models/merged-lm",
  ],
  run: runMakeModel,
};

/**
 * Turns the command's flags into maker options. A flag whose value cannot be
 * read is a usage error; sizes that do not fit together are reported by the
 * maker when it resolves the configuration.
 */
export function makeModelOptions(values: CommandContext["values"]): ModelOptions {
  const preset = values.preset;
  if (typeof preset === "string" && !(PRESET_NAMES as readonly string[]).includes(preset)) {
    const suggestion = closest(preset, PRESET_NAMES);
    throw new UsageError(`Unknown preset \`${preset}\`.`, {
      command: "make-model",
      hint: suggestion ? `did you mean \`--preset ${suggestion}\`?` : `the presets are ${PRESET_NAMES.join(", ")}.`,
    });
  }
  if (values.tied === true && values.untied === true) {
    throw new UsageError("Options `--tied` and `--untied` contradict each other; pass one of them.", { command: "make-model" });
  }
  const flags: Record<string, string | boolean | undefined> = { ...values };
  delete flags.untied;
  if (values.untied === true) flags.tied = false;
  try {
    return modelOptionsFromFlags(flags);
  } catch (error) {
    if (error instanceof ConfigurationError) throw new UsageError(`${capitalize(error.message)}.`, { command: "make-model", cause: error });
    throw error;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

async function runMakeModel(context: CommandContext): Promise<number> {
  const { io, style } = context;
  const json = context.values.json === true;
  const outFlag = context.values.out;
  if (typeof outFlag !== "string" || outFlag.trim() === "") {
    throw new UsageError("Option `--out` is required: the directory to write the model project into.", {
      command: "make-model",
      hint: "e.g. `slmops make-model --out models/story-lm`",
    });
  }
  const options = makeModelOptions(context.values);
  const { GRAPH_LAYOUTS, writeModelProject, DEFAULT_LAYOUT } = await import("@slmops/model-maker");
  const layoutFlag = context.values["graph-layout"] ?? "plain";
  const graphLayout = GRAPH_LAYOUTS.find((l) => l === layoutFlag);
  if (graphLayout === undefined) {
    const suggestion = closest(String(layoutFlag), GRAPH_LAYOUTS);
    throw new UsageError(`Unknown graph layout \`${String(layoutFlag)}\`.`, {
      command: "make-model",
      hint: suggestion ? `did you mean \`--graph-layout ${suggestion}\`?` : `the layouts are ${GRAPH_LAYOUTS.join(", ")}.`,
    });
  }
  const out = resolve(io.cwd, outFlag);
  const show = (path: string) => (isAbsolute(outFlag) ? path : relative(io.cwd, path).split(sep).join("/") || ".");

  const progress = new ProgressLine(io.stderr, { isTTY: io.stderrIsTTY, columns: terminalColumns(io.stderr) });
  let phase = "";
  const written = await writingOutput({ name: "--out", value: outFlag }, io.cwd, () => writeModelProject(out, options, {
    graphLayout,
    onProgress: (p) => {
      const label = PHASES[p.phase] ?? p.phase;
      if (p.phase !== phase) {
        phase = p.phase;
        if (!io.stderrIsTTY && !json) progress.milestone(`${label}…`);
      }
      progress.update(`${label.padEnd(22)} ${progressBar(p.done, p.total)} ${p.done}/${p.total}`, p.done === p.total);
    },
  })).finally(() => progress.clear());

  const kinds = Object.keys(DEFAULT_LAYOUT) as (keyof typeof DEFAULT_LAYOUT)[];
  const files: MadeFile[] = [];
  for (const kind of kinds) {
    const path = written.paths[kind];
    files.push({ kind, path: show(path), bytes: written.bytes[kind], sha256: await sha256File(path) });
    if (kind === "model") {
      for (const e of written.extra) files.push({ kind: e.kind, path: show(e.path), bytes: e.bytes, sha256: await sha256File(e.path) });
    }
  }
  const preset = options.preset ?? "tiny";
  if (json) {
    const output: MakeModelJson = {
      out: show(out),
      preset,
      parameters: written.parameters,
      config: { ...written.config },
      files,
    };
    io.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return ExitCode.ok;
  }
  const c = written.config;
  io.stdout.write(
    `${style.green("✓")} ${show(out)}: ${written.parameters.toLocaleString("en-US")} parameters ` +
      `(preset ${preset}; layers ${c.layers}, hidden ${c.hidden}, heads ${c.heads}/${c.kvHeads}, vocab ${c.vocab}, ${c.tied ? "tied" : "untied"}, seed ${c.seed})\n`,
  );
  const width = Math.max(...files.map((f) => f.path.length));
  for (const f of files) {
    io.stdout.write(`  ${f.path.padEnd(width)}  ${formatSize(f.bytes).padStart(9)}  ${style.dim(`sha256 ${f.sha256.slice(0, 16)}`)}\n`);
  }
  return ExitCode.ok;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
