/**
 * A complete model project: the ONNX decoder, its tokenizer, an eval set and
 * a `config.json` recording the exact configuration, so the same files can be
 * made again byte for byte.
 */
import { readFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, normalize, sep } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";
import { encodeModel, writeModel, type ModelProto } from "@slmops/onnx";
import { writeFileAtomic } from "@slmops/atomic-file";
import { ensureOutputDirectory } from "@slmops/contained-fs";
import { headDim, parameterCount, resolveConfig, validateConfig, type ModelConfig, type ModelOptions } from "./config.js";
import { evalJsonl, trainingCorpus } from "./corpus.js";
import { LAYOUT_FILE_NAMES, MAKER_FORMAT, genaiConfig, makeModel, type GraphLayout, type ProgressCallback } from "./model.js";
import { tokenizerConfigJson, tokenizerJson, trainByteLevelBpe } from "./tokenizer.js";

/** Where each file of a project goes, relative to the project directory. */
export interface ProjectLayout {
  readonly model: string;
  readonly tokenizer: string;
  readonly tokenizerConfig: string;
  readonly eval: string;
  readonly config: string;
}

/** Everything in one directory, as Hugging Face model repositories lay it out. */
export const DEFAULT_LAYOUT: ProjectLayout = {
  model: "model.onnx",
  tokenizer: "tokenizer.json",
  tokenizerConfig: "tokenizer_config.json",
  eval: "eval.jsonl",
  config: "config.json",
};

/**
 * The layout of a model inside an slmops repository: the model's files under
 * `models/<id>/`, its eval set under `data/` (as the example project uses).
 */
export function repositoryLayout(modelId: string): ProjectLayout {
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(modelId)) {
    throw new ConfigurationError(`model id \`${modelId}\` must be letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return {
    model: `models/${modelId}/model.onnx`,
    tokenizer: `models/${modelId}/tokenizer.json`,
    tokenizerConfig: `models/${modelId}/tokenizer_config.json`,
    eval: `data/eval.jsonl`,
    config: `models/${modelId}/config.json`,
  };
}

/** The files of a project, in memory. */
export interface ModelProject {
  readonly config: ModelConfig;
  readonly parameters: number;
  readonly graphLayout: GraphLayout;
  /** The model as a graph: what the merged layout writes with its weights in external data. */
  readonly model: ModelProto;
  readonly files: { readonly [K in keyof ProjectLayout]: Uint8Array };
  /** The genai layout's `genai_config.json`. */
  readonly genaiConfig?: Uint8Array;
}

export interface ProjectOptions {
  /** Called as weights are made and files are written. */
  readonly onProgress?: ProgressCallback;
  /** The exporter layout of the model's graph; default `plain` (see model.ts). */
  readonly graphLayout?: GraphLayout;
}

export interface WriteProjectOptions extends ProjectOptions {
  /** Where each file goes inside the directory; default {@link DEFAULT_LAYOUT}. */
  readonly layout?: Partial<ProjectLayout>;
}

/** What {@link writeModelProject} wrote. */
export interface WrittenProject {
  readonly config: ModelConfig;
  readonly parameters: number;
  /** Absolute or dir-relative paths of each file, as joined with the directory. */
  readonly paths: { readonly [K in keyof ProjectLayout]: string };
  /** Size of each file in bytes. */
  readonly bytes: { readonly [K in keyof ProjectLayout]: number };
  /** Files a layout adds beside the model: the merged decoder's external data, the genai layout's `genai_config.json`. */
  readonly extra: readonly { readonly kind: "modelData" | "genaiConfig"; readonly path: string; readonly bytes: number }[];
}

const text = new TextEncoder();

/** The Hugging Face style `config.json` of a model, with the maker's own settings under `slmops`. */
export function configJson(config: ModelConfig, preset?: string): string {
  const document = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: config.vocab,
    hidden_size: config.hidden,
    intermediate_size: config.intermediate,
    num_hidden_layers: config.layers,
    num_attention_heads: config.heads,
    num_key_value_heads: config.kvHeads,
    head_dim: headDim(config),
    hidden_act: "silu",
    max_position_embeddings: config.context,
    rms_norm_eps: config.rmsNormEps,
    rope_theta: config.ropeTheta,
    tie_word_embeddings: config.tied,
    initializer_range: config.initStd,
    bos_token_id: 0,
    eos_token_id: 1,
    torch_dtype: "float32",
    use_cache: true,
    slmops: {
      format: MAKER_FORMAT,
      ...(preset === undefined ? {} : { preset }),
      seed: config.seed,
      eval_samples: config.evalSamples,
      fit: config.fit,
      parameters: parameterCount(config),
    },
  };
  return JSON.stringify(document, null, 2) + "\n";
}

/** Reads a configuration back from the text of a `config.json` written by {@link configJson}. */
export function parseConfigJson(source: string, file = "config.json"): ModelConfig {
  let document: unknown;
  try {
    document = JSON.parse(source);
  } catch (cause) {
    throw new ConfigurationError(`${file} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (typeof document !== "object" || document === null) throw new ConfigurationError(`${file} must hold a JSON object`);
  const d = document as Record<string, unknown>;
  const slmops = (typeof d.slmops === "object" && d.slmops !== null ? d.slmops : {}) as Record<string, unknown>;
  if (slmops.format !== MAKER_FORMAT) {
    throw new ConfigurationError(
      `${file} was written by maker format ${JSON.stringify(slmops.format) ?? "(none)"}, this maker writes format ${MAKER_FORMAT}; make the model again`,
    );
  }
  try {
    return validateConfig({
      vocab: d.vocab_size,
      hidden: d.hidden_size,
      layers: d.num_hidden_layers,
      heads: d.num_attention_heads,
      kvHeads: d.num_key_value_heads,
      intermediate: d.intermediate_size,
      context: d.max_position_embeddings,
      tied: d.tie_word_embeddings,
      seed: slmops.seed,
      ropeTheta: d.rope_theta,
      rmsNormEps: d.rms_norm_eps,
      initStd: d.initializer_range,
      evalSamples: slmops.eval_samples,
      fit: slmops.fit ?? "none",
    });
  } catch (error) {
    if (error instanceof ConfigurationError) throw new ConfigurationError(`${file}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Makes every file of a project in memory. */
export function makeModelProject(options: ModelOptions = {}, projectOptions: ProjectOptions = {}): ModelProject {
  const config = resolveConfig(options);
  const onProgress = projectOptions.onProgress;
  const graphLayout = projectOptions.graphLayout ?? "plain";
  const model = makeModel(config, { layout: graphLayout, ...(onProgress ? { onProgress } : {}) });
  onProgress?.({ phase: "encode", done: 0, total: 1 });
  const modelBytes = encodeModel(model);
  onProgress?.({ phase: "encode", done: 1, total: 1 });
  onProgress?.({ phase: "tokenizer", done: 0, total: 1 });
  const tokenizer = trainByteLevelBpe(trainingCorpus(config.seed), config.vocab);
  onProgress?.({ phase: "tokenizer", done: 1, total: 1 });
  const evalText = evalJsonl(config.seed, config.evalSamples);
  onProgress?.({ phase: "eval", done: 1, total: 1 });
  return {
    config,
    parameters: parameterCount(config),
    graphLayout,
    model,
    ...(graphLayout === "genai" ? { genaiConfig: text.encode(genaiConfig(config, LAYOUT_FILE_NAMES.genai)) } : {}),
    files: {
      model: modelBytes,
      tokenizer: text.encode(tokenizerJson(tokenizer)),
      tokenizerConfig: text.encode(tokenizerConfigJson(config.context)),
      eval: text.encode(evalText),
      config: text.encode(configJson(config, options.preset)),
    },
  };
}

function checkRelative(key: string, path: string): void {
  const normalized = normalize(path);
  if (path === "" || isAbsolute(path) || normalized === ".." || normalized.startsWith(`..${sep}`)) {
    throw new ConfigurationError(`the ${key} path \`${path}\` must be a relative path inside the project directory`);
  }
}

/**
 * Makes a project and writes its files into `dir` (each atomically). This is
 * what `slmops make-model` calls.
 */
export async function writeModelProject(
  dir: string,
  options: ModelOptions = {},
  writeOptions: WriteProjectOptions = {},
): Promise<WrittenProject> {
  const graphLayout = writeOptions.graphLayout ?? "plain";
  // The exporter's own file name for the model, unless the caller placed it.
  const layout: ProjectLayout = { ...DEFAULT_LAYOUT, model: LAYOUT_FILE_NAMES[graphLayout], ...writeOptions.layout };
  for (const [key, path] of Object.entries(layout)) checkRelative(key, path);
  const project = makeModelProject(options, { graphLayout, ...(writeOptions.onProgress ? { onProgress: writeOptions.onProgress } : {}) });
  await ensureOutputDirectory(undefined, dir);
  const keys = Object.keys(layout) as (keyof ProjectLayout)[];
  const paths = {} as Record<keyof ProjectLayout, string>;
  const bytes = {} as Record<keyof ProjectLayout, number>;
  const extra: { kind: "modelData" | "genaiConfig"; path: string; bytes: number }[] = [];
  let done = 0;
  for (const key of keys) {
    const path = join(dir, layout[key]);
    // The output directory may already hold a tree (a repository): no link inside it is followed.
    await ensureOutputDirectory(dir, dirname(path));
    if (key === "model" && graphLayout === "optimum-merged") {
      // As Optimum writes it: the weights in `<model>_data` beside the model.
      const written = await writeModel(path, project.model, { externalData: { location: `${basename(path)}_data` } });
      bytes[key] = written.modelBytes;
      if (written.dataPath) extra.push({ kind: "modelData", path: written.dataPath, bytes: written.dataBytes });
    } else {
      await writeFileAtomic(path, project.files[key]);
      bytes[key] = project.files[key].byteLength;
    }
    if (key === "model" && project.genaiConfig) {
      const configPath = join(dirname(path), "genai_config.json");
      await writeFileAtomic(configPath, project.genaiConfig);
      extra.push({ kind: "genaiConfig", path: configPath, bytes: project.genaiConfig.byteLength });
    }
    paths[key] = path;
    writeOptions.onProgress?.({ phase: "write", done: ++done, total: keys.length });
  }
  return { config: project.config, parameters: project.parameters, paths, bytes, extra };
}

/**
 * Reads a project's `config.json` and makes its files again in memory, to
 * check that committed files are exactly what the maker writes.
 */
export async function remakeFromConfigFile(configPath: string): Promise<ModelProject> {
  const source = await readFile(configPath, "utf8");
  const config = parseConfigJson(source, configPath);
  const preset = (JSON.parse(source) as { slmops?: { preset?: unknown } }).slmops?.preset;
  const project = makeModelProject(config);
  if (typeof preset !== "string") return project;
  // Keep the recorded preset name so config.json comes out identical too.
  return { ...project, files: { ...project.files, config: text.encode(configJson(config, preset)) } };
}
