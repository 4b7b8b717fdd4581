/**
 * The agent's configuration file (`slmops-agent.yaml`): YAML, validated
 * against `schemas/agent-config.schema.json` before use, every problem
 * reported at its file:line:col. Paths in it are relative to the file.
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import { readRegularFile } from "@slmops/contained-fs";
import { ConfigurationError, decodeUtf8, type Diagnostic } from "@slmops/diagnostics";
import { MAX_DEVICE_ID_BYTES } from "@slmops/rollout-cohort";
import schema from "@slmops/schemas/agent-config.schema.json" with { type: "json" };
import { parseDuration } from "@slmops/units";
import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document } from "yaml";

/** The configuration, checked, with durations in milliseconds and paths absolute. */
export interface AgentConfig {
  /** The file it was read from (absolute). */
  readonly file: string;
  /** Base URL of the release repository, without a trailing slash. */
  readonly repository: string;
  readonly channel: string;
  readonly model: string;
  readonly device: { readonly id: string; readonly class: string };
  readonly installDir: string;
  readonly trustedRoot: string;
  readonly pollMs: number;
  readonly healthCheck: { readonly budgetMs: number | undefined; readonly timeoutMs: number };
  readonly download: { readonly readTimeoutMs: number };
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly collector: { readonly url: string; readonly tokenFile: string } | undefined;
  /** `-` for standard output, else an absolute file path. */
  readonly events: string;
}

/** The file `slmops agent` reads when none is named. */
export const DEFAULT_AGENT_CONFIG = "/etc/slmops/agent.yaml";

const MAX_CONFIG_BYTES = 256 * 1024;

interface RawConfig {
  version: 1;
  repository: string;
  channel: string;
  model: string;
  device: { id?: string; "id-file"?: string; class: string };
  "install-dir": string;
  "trusted-root": string;
  poll?: string;
  "health-check"?: { budget?: string; timeout?: string };
  download?: { "read-timeout"?: string };
  backoff?: { initial?: string; max?: string };
  collector?: { url: string; "token-file": string };
  events?: string;
}

let validator: ReturnType<Ajv2020["compile"]> | undefined;

function validate(value: unknown): readonly ErrorObject[] {
  validator ??= new Ajv2020({ strict: true, allErrors: true }).compile(schema);
  return validator(value) ? [] : (validator.errors ?? []);
}

function positionOf(doc: Document, counter: LineCounter, pointer: string): { line: number; column: number } {
  const path = pointer === "" ? [] : pointer.slice(1).split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) {
      const { line, col } = counter.linePos(node.range[0]);
      return { line, column: col };
    }
  }
  return { line: 1, column: 1 };
}

/** Where the key of the entry at `pointer` is written (for an unknown setting: the key itself). */
function keyPosition(doc: Document, counter: LineCounter, pointer: string): { line: number; column: number } | undefined {
  const path = pointer.slice(1).split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === path.at(-1));
  const range = isNode(pair?.key) ? pair.key.range : undefined;
  if (!range) return undefined;
  const { line, col } = counter.linePos(range[0]);
  return { line, column: col };
}

function describe(error: ErrorObject): string {
  const at = error.instancePath === "" ? "the file" : `\`${error.instancePath.slice(1).replace(/\//g, ".")}\``;
  switch (error.keyword) {
    case "required":
      return `${at} needs \`${String((error.params as { missingProperty: string }).missingProperty)}\``;
    case "additionalProperties":
      return `${at} has an unknown setting \`${String((error.params as { additionalProperty: string }).additionalProperty)}\``;
    case "pattern":
      return `${at} is not valid here (expected ${error.instancePath.endsWith("repository") || error.instancePath.endsWith("url") ? "an http(s) URL" : /poll|budget|timeout|initial|max/.test(error.instancePath) ? "a duration such as 30s, 5m or 250ms" : "lowercase letters, digits, '.', '_' and '-'"})`;
    case "const":
      return `${at} must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`;
    default:
      return `${at} ${error.message ?? "is not valid"}`;
  }
}

/** A duration the schema's pattern admitted; a value it cannot parse (`5m1h`, out of order) is still refused, at its line. */
function duration(text: string | undefined, fallback: string, where: () => string): number {
  try {
    return parseDuration(text ?? fallback);
  } catch (error) {
    throw new ConfigurationError(`${where()}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * Reads and checks the configuration. Every refusal is one
 * {@link ConfigurationError} carrying a diagnostic per problem, at its line.
 */
export async function loadAgentConfig(file: string, display: string = file): Promise<AgentConfig> {
  const absolute = resolve(file);
  const bytes = await readRegularFile(absolute, { maxBytes: MAX_CONFIG_BYTES, what: "agent configuration" });
  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) {
    const { line, column } = decoded.position;
    throw new ConfigurationError(`${display}:${line}:${column}: the file is not UTF-8 text; save it as UTF-8`);
  }
  const text = decoded.text;
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true });
  const at = (line: number, column: number, message: string, code: string, hint?: string): Diagnostic => ({ severity: "error", code, message, file: display, line, column, ...(hint ? { hint } : {}) });
  if (doc.errors.length > 0) {
    const diagnostics = doc.errors.map((e) => {
      const { line, col } = e.linePos?.[0] ?? { line: 1, col: 1 };
      return at(line, col, e.message.split("\n")[0] ?? e.message, `yaml/${e.code.toLowerCase()}`);
    });
    throw new ConfigurationError(`${display} is not valid YAML: fix the ${diagnostics.length === 1 ? "problem" : `${diagnostics.length} problems`} below`, { diagnostics });
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 0 }) as unknown;
  } catch (error) {
    // An alias (`*name`): the configuration is small and plain; aliases are refused rather than expanded.
    throw new ConfigurationError(`${display} uses a YAML alias (\`*name\`); write each value out in full`, { cause: error, diagnostics: [at(1, 1, "YAML aliases are not accepted in an agent configuration; write each value out in full", "yaml/alias")] });
  }
  const errors = validate(raw).filter((e) => e.keyword !== "if");
  if (errors.length > 0) {
    const diagnostics = errors.map((e) => {
      const extra = e.keyword === "additionalProperties" ? (e.params as { additionalProperty?: string }).additionalProperty : undefined;
      const p = (extra === undefined ? undefined : keyPosition(doc, counter, `${e.instancePath}/${extra.replace(/~/g, "~0").replace(/\//g, "~1")}`)) ?? positionOf(doc, counter, e.instancePath);
      const { line, col } = { line: p.line, col: p.column };
      return at(line, col, describe(e), `agent-config/${e.keyword}`, "see `slmops agent init --help` for a complete example, or schemas/agent-config.schema.json");
    });
    throw new ConfigurationError(`${display} is not a valid agent configuration: fix the ${diagnostics.length === 1 ? "problem" : `${diagnostics.length} problems`} below`, { diagnostics });
  }
  const config = raw as RawConfig;
  const base = dirname(absolute);
  const path = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const device = config.device;
  if ((device.id === undefined) === (device["id-file"] === undefined)) {
    const p = positionOf(doc, counter, "/device");
    throw new ConfigurationError(`${display}:${p.line}:${p.column}: \`device\` needs exactly one of \`id\` and \`id-file\``, {
      diagnostics: [at(p.line, p.column, "`device` needs exactly one of `id` and `id-file`", "agent-config/device-id")],
    });
  }
  let id = device.id;
  if (id === undefined) {
    const idFile = path(device["id-file"] ?? "");
    id = (await readRegularFile(idFile, { maxBytes: 4096, what: "device id file" })).toString("utf8").trim();
    if (id === "") {
      const p = positionOf(doc, counter, "/device/id-file");
      const message = `the device id file ${idFile} is empty; write the device's id into it, or set \`device.id\` in ${display}`;
      throw new ConfigurationError(message, { diagnostics: [at(p.line, p.column, message, "agent-config/empty-device-id")] });
    }
  }
  if (Buffer.byteLength(id, "utf8") > MAX_DEVICE_ID_BYTES) throw new ConfigurationError(`the device id is longer than ${MAX_DEVICE_ID_BYTES} bytes; use a shorter id`);
  const where = (pointer: string) => () => {
    const p = positionOf(doc, counter, pointer);
    return `${display}:${p.line}:${p.column}`;
  };
  return {
    file: absolute,
    repository: config.repository.replace(/\/+$/, ""),
    channel: config.channel,
    model: config.model,
    device: { id, class: device.class },
    installDir: path(config["install-dir"]),
    trustedRoot: path(config["trusted-root"]),
    pollMs: duration(config.poll, "5m", where("/poll")),
    healthCheck: { budgetMs: config["health-check"]?.budget === undefined ? undefined : duration(config["health-check"].budget, "0s", where("/health-check/budget")), timeoutMs: duration(config["health-check"]?.timeout, "2m", where("/health-check/timeout")) },
    download: { readTimeoutMs: duration(config.download?.["read-timeout"], "30s", where("/download/read-timeout")) },
    backoff: { initialMs: duration(config.backoff?.initial, "30s", where("/backoff/initial")), maxMs: duration(config.backoff?.max, "1h", where("/backoff/max")) },
    collector: config.collector ? { url: config.collector.url.replace(/\/+$/, ""), tokenFile: path(config.collector["token-file"]) } : undefined,
    events: config.events === undefined || config.events === "-" ? "-" : path(config.events),
  };
}
