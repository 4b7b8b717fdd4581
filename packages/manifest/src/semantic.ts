import { isAbsolute } from "node:path";
import { posix, win32 } from "node:path";
import { formatDuration, formatPercentage, UnitError } from "@slmops/units";
import { limitRangeProblem } from "./limit-range.js";
import { METRICS, isMetricName } from "./metrics.js";
import { DEFAULTS, EXPIRY_ROLES } from "./normalize.js";
import { checkPathOnDisk, checkPathText, type PathCheck } from "./paths.js";
import { error, type Problem, warning } from "./problem.js";
import { has, isObject, listAt, objectAt, type RawObject, stringAt } from "./raw.js";
import { closest } from "./suggest.js";
import { pointerSegment } from "./tree.js";
import { describeValue } from "./where.js";
import type { ExpiryRole, MetricName } from "./types.js";
import { readValue, type ValueKind } from "./values.js";

/** The schema's id and reference patterns; values that fail them are reported by the schema alone. */
const ID = /^[a-z0-9][a-z0-9._-]*$/u;
const REF = /^[a-z0-9][a-z0-9._-]*(?:\/[a-z0-9][a-z0-9._-]*)?$/u;

export interface SemanticContext {
  readonly root: string;
  readonly realRoot: string;
  readonly checkFiles: boolean;
}

/** A model's variants, by id, for resolving references. */
interface Catalog {
  readonly models: Map<string, Set<string>>;
  readonly devices: Set<string>;
}

/**
 * The checks the schema cannot express: unique ids, references that resolve,
 * paths inside the root, units in range, and rules between fields. Works on
 * data that may also have schema errors, reading every value defensively, so
 * all problems are found in one pass.
 */
export async function checkSemantics(data: unknown, context: SemanticContext): Promise<Problem[]> {
  if (!isObject(data)) return [];
  const problems: Problem[] = [];
  const catalog = buildCatalog(data, problems);
  checkPasses(data, problems);
  checkDevices(data, problems);
  checkUnits(data, problems);
  checkGates(data, catalog, problems);
  checkRelease(data, catalog, problems);
  problems.push(...(await checkPaths(data, context)));
  return problems;
}

function buildCatalog(data: RawObject, problems: Problem[]): Catalog {
  const models = new Map<string, Set<string>>();
  uniqueIds(listAt(data, "models"), "/models", "model", problems).forEach((index, id) => {
    const model = listAt(data, "models")[index];
    const variants = new Set(uniqueIds(listAt(model, "variants"), `/models/${index}/variants`, `variant of model \`${id}\``, problems).keys());
    models.set(id, variants);
  });
  // Variants of models whose id is missing or repeated are still checked for duplicates.
  const devices = new Set(uniqueIds(listAt(data, "devices"), "/devices", "device", problems).keys());
  return { models, devices };
}

/** Ids of a list, first occurrence wins; reports every repeat at its `id`. */
function uniqueIds(items: readonly unknown[], pointer: string, noun: string, problems: Problem[]): Map<string, number> {
  const ids = new Map<string, number>();
  items.forEach((item, index) => {
    const id = stringAt(item, "id");
    if (id === undefined) return;
    const first = ids.get(id);
    if (first !== undefined) {
      problems.push(error("id/duplicate", `${pointer}/${index}/id`, `the ${noun} id \`${id}\` is used twice`, `ids must be unique in their list; item ${first + 1} already uses \`${id}\``));
    } else {
      ids.set(id, index);
    }
  });
  return ids;
}

function checkPasses(data: RawObject, problems: Problem[]): void {
  listAt(data, "models").forEach((model, m) => {
    const evaluation = objectAt(model, "eval");
    const calibration = objectAt(model, "calibration");
    const calibrationSet = stringAt(calibration, "dataset");
    if (calibrationSet !== undefined && calibrationSet === stringAt(evaluation, "dataset")) {
      problems.push(
        error("model/calibration-is-eval", `/models/${m}/calibration/dataset`, "the calibration text is the eval set", "calibrate on other text of the same kind, so the accuracy metrics measure text the quantization did not see; or remove `calibration:` to calibrate on the eval set knowingly"),
      );
    }
    const hasTokenizer = stringAt(calibration, "tokenizer") !== undefined || stringAt(evaluation, "tokenizer") !== undefined;
    const hasText = calibrationSet !== undefined || stringAt(evaluation, "dataset") !== undefined;
    listAt(model, "variants").forEach((variant, v) => {
      let quantized = -1;
      listAt(variant, "passes").forEach((pass, p) => {
        const base = `/models/${m}/variants/${v}/passes/${p}`;
        const quantize = objectAt(pass, "quantize");
        if (quantize) {
          if (quantized >= 0) {
            problems.push(error("pass/quantized-twice", `${base}/quantize`, "this variant already quantizes its weights", `pass ${quantized + 1} quantizes them; a variant quantizes once — make another variant for another setting`, "key"));
          } else quantized = p;
          const overrides = listAt(quantize, "overrides");
          const gptqAt =
            quantize.method === "gptq"
              ? `${base}/quantize/method`
              : overrides.flatMap((o, i) => (isObject(o) && o.method === "gptq" ? [`${base}/quantize/overrides/${i}/method`] : []))[0];
          if (gptqAt !== undefined && (!hasText || !hasTokenizer)) {
            problems.push(
              error(
                "pass/gptq-needs-text",
                gptqAt,
                `\`method: gptq\` calibrates on text, and this model has ${hasText ? "no tokenizer for it" : "none"}`,
                hasText ? "add `tokenizer:` to the model's `calibration:` or `eval:`" : "add `calibration: { dataset: …, tokenizer: … }` to the model (text apart from its eval set), or use `rtn` or `minimize-error`",
              ),
            );
          }
          if (quantize.activations === "dynamic") {
            if (quantize.weights !== "int8") {
              problems.push(error("pass/dynamic-int8-only", `${base}/quantize/activations`, "dynamic activation quantization applies to int8 weights only", "remove `activations`, or quantize to `int8`", "key"));
            }
            for (const key of ["block-size", "method", "accuracy-level", "overrides"]) {
              if (has(quantize, key)) {
                problems.push(error("pass/block-only", `${base}/quantize/${key}`, `\`${key}\` applies to block-wise weight-only quantization, not to \`activations: dynamic\` (per-channel weights)`, "remove it, or remove `activations: dynamic`", "key"));
              }
            }
            if (quantize.symmetric === false) {
              problems.push(error("pass/dynamic-symmetric", `${base}/quantize/symmetric`, "with `activations: dynamic`, int8 weights are symmetric per channel", "remove `symmetric: false`, or remove `activations: dynamic`", "key"));
            }
          }
        }
        const optimize = objectAt(pass, "graph-optimize");
        if (optimize) {
          const level = optimize.level;
          if ((level === "layout" || level === "all") && optimize["allow-machine-specific"] !== true) {
            problems.push(
              error(
                "pass/machine-specific",
                `${base}/graph-optimize/level`,
                `graph-optimize level \`${level}\` makes a model that only runs on hardware like the machine that built it`,
                "use `level: extended`, or add `allow-machine-specific: true` if the variant is built on the device class it runs on",
              ),
            );
          }
        }
        const prune = objectAt(pass, "prune");
        if (prune) {
          const sparsity = readValue("fraction", prune.sparsity);
          // Numbers above 1 are the schema's to report; percentages and exactly 1 are ours.
          if (typeof sparsity === "number" && (typeof prune.sparsity === "string" ? sparsity >= 1 : sparsity === 1)) {
            problems.push(error("value/out-of-range", `${base}/prune/sparsity`, `sparsity must be below 100%, not ${describeFraction(prune.sparsity)}`, "e.g. `sparsity: 50%`"));
          }
        }
      });
    });
  });
}

function checkDevices(data: RawObject, problems: Problem[]): void {
  listAt(data, "devices").forEach((device, d) => {
    const privateSet = stringAt(device, "private-eval-dataset");
    if (privateSet !== undefined && !(posix.isAbsolute(privateSet) || win32.isAbsolute(privateSet) || isAbsolute(privateSet))) {
      problems.push(
        error(
          "path/not-absolute",
          `/devices/${d}/private-eval-dataset`,
          `\`private-eval-dataset\` must be an absolute path on the device's runner, not \`${privateSet}\``,
          "a dataset inside the repository belongs in the model's `eval.dataset`",
        ),
      );
    }
    if (isObject(device) && device["allow-from-forks"] === true) {
      problems.push(
        warning(
          "security/allow-from-forks",
          `/devices/${d}/allow-from-forks`,
          `device \`${stringAt(device, "id") ?? d + 1}\` runs jobs for pull requests from forks: its self-hosted runners will run code from anyone`,
          "keep `allow-from-forks: false` unless the runner is disposable",
        ),
      );
    }
  });
}

/** Every unit value that is well-formed but out of range (too large, a fraction of a byte). */
function checkUnits(data: RawObject, problems: Problem[]): void {
  const check = (kind: ValueKind, parent: unknown, key: string, pointer: string): void => {
    if (!has(parent, key)) return;
    const value = readValue(kind, (parent as RawObject)[key]);
    if (!(value instanceof UnitError)) return;
    if (!wellFormed(kind, (parent as RawObject)[key])) return; // the schema reports malformed text
    problems.push(error("unit/invalid", pointer, `${describeValue(data, pointer)}: ${value.message}`, value.hint));
  };
  listAt(data, "devices").forEach((device, d) => check("size", device, "memory-budget", `/devices/${d}/memory-budget`));
  const bench = objectAt(data, "bench");
  check("duration", bench, "min-duration", "/bench/min-duration");
  check("duration", bench, "timeout", "/bench/timeout");
  listAt(data, "gates").forEach((gate, g) => {
    const require = objectAt(gate, "require");
    for (const [name, spec] of Object.entries(METRICS)) {
      const limit = objectAt(require, name);
      for (const bound of ["max", "min"]) check(spec.kind, limit, bound, `/gates/${g}/require/${name}/${bound}`);
    }
    const regression = objectAt(require, "regression");
    for (const key of ["max-increase", "max-decrease"]) check("percentage", regression, key, `/gates/${g}/require/regression/${key}`);
  });
  listAt(data, "models").forEach((model, m) => {
    listAt(model, "variants").forEach((variant, v) => {
      listAt(variant, "passes").forEach((pass, p) => check("fraction", objectAt(pass, "prune"), "sparsity", `/models/${m}/variants/${v}/passes/${p}/prune/sparsity`));
    });
  });
  const rollout = objectAt(objectAt(data, "release"), "rollout");
  listAt(rollout, "stages").forEach((stage, s) => check("duration", stage, "soak", `/release/rollout/stages/${s}/soak`));
  check("fraction", objectAt(rollout, "abort"), "failure-rate", "/release/rollout/abort/failure-rate");
  const expiry = objectAt(objectAt(data, "release"), "expiry");
  for (const role of EXPIRY_ROLES) check("duration", expiry, role, `/release/expiry/${role}`);
}

const WELL_FORMED: Partial<Record<ValueKind, RegExp>> = {
  size: /^(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:B|KB|MB|GB|TB|PB|KiB|MiB|GiB|TiB|PiB)$/u,
  duration: /^(?:(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:d|h|ms|m|s|us|µs|ns))+$/u,
  fraction: /^(?:0|[1-9][0-9]*)(?:\.[0-9]+)?%$/u,
  percentage: /^(?:0|[1-9][0-9]*)(?:\.[0-9]+)?%$/u,
};

function wellFormed(kind: ValueKind, value: unknown): boolean {
  const pattern = WELL_FORMED[kind];
  return typeof value === "string" && pattern !== undefined && pattern.test(value);
}

function describeFraction(value: unknown): string {
  return typeof value === "string" ? `\`${value}\`` : typeof value === "number" ? `\`${value}\` (${formatPercentage(Math.max(0, value))})` : "this";
}

function checkGates(data: RawObject, catalog: Catalog, problems: Problem[]): void {
  listAt(data, "gates").forEach((gate, g) => {
    const base = `/gates/${g}`;
    const scope = new Set<string>();
    listAt(gate, "models").forEach((model, i) => {
      if (typeof model !== "string") return;
      if (catalog.models.has(model)) scope.add(model);
      else if (ID.test(model)) problems.push(unknownReference(`${base}/models/${i}`, "model", model, catalog.models.keys()));
    });
    if (!has(gate, "models")) for (const id of catalog.models.keys()) scope.add(id);
    listAt(gate, "devices").forEach((device, i) => {
      if (typeof device === "string" && ID.test(device) && !catalog.devices.has(device)) problems.push(unknownReference(`${base}/devices/${i}`, "device", device, catalog.devices));
    });
    listAt(gate, "variants").forEach((variant, i) => {
      if (typeof variant !== "string" || !REF.test(variant)) return;
      const problem = resolveVariant(variant, `${base}/variants/${i}`, catalog, scope).problem;
      if (problem) problems.push(problem);
    });
    const require = objectAt(gate, "require");
    for (const [name, spec] of Object.entries(METRICS)) {
      const limit = objectAt(require, name);
      if (!limit) continue;
      const max = readValue(spec.kind, limit.max);
      const min = readValue(spec.kind, limit.min);
      if (typeof max === "number" && typeof min === "number" && min > max) {
        problems.push(error("gate/empty-range", `${base}/require/${name}`, `\`${name}\` asks for a minimum above its maximum, which nothing can meet`, "swap `min` and `max`"));
      }
      for (const bound of ["max", "min"] as const) {
        const value = readValue(spec.kind, limit[bound]);
        if (typeof value !== "number") continue;
        const pointer = `${base}/require/${name}/${bound}`;
        if (spec.kind === "fraction" && typeof limit[bound] === "string" && value > 1) {
          problems.push(error("value/out-of-range", pointer, `\`${name}\` is a share of positions; it cannot exceed 100%`, "e.g. `min: 90%`"));
        }
        const problem = limitRangeProblem(name as MetricName, bound, value, limit[bound], pointer);
        if (problem) problems.push(problem);
      }
    }
    const regression = objectAt(require, "regression");
    if (regression) checkRegression(regression, `${base}/require/regression`, problems);
  });
}

function checkRegression(regression: RawObject, pointer: string, problems: Problem[]): void {
  const metric = regression.metric;
  if (typeof metric !== "string" || !isMetricName(metric)) return;
  const worse = METRICS[metric].worseWhen;
  const wanted = worse === "higher" ? "max-increase" : "max-decrease";
  const other = worse === "higher" ? "max-decrease" : "max-increase";
  if (has(regression, other)) {
    problems.push(
      error(
        "gate/regression-direction",
        `${pointer}/${other}`,
        `\`${metric}\` gets worse when it ${worse === "higher" ? "rises" : "falls"}, so its regression limit is \`${wanted}\`, not \`${other}\``,
        `write \`${wanted}: ${String(regression[other])}\``,
        "key",
      ),
    );
  } else if (!has(regression, wanted)) {
    problems.push(error("gate/regression-limit", pointer, `the regression check of \`${metric}\` gives no limit`, `add \`${wanted}:\`, e.g. \`${wanted}: 5%\``));
  }
}

/** Resolves `variant` or `model/variant` within the models in scope. */
function resolveVariant(reference: string, pointer: string, catalog: Catalog, scope: ReadonlySet<string>): { model?: string; variant?: string; problem?: Problem } {
  const slash = reference.indexOf("/");
  if (slash !== -1) {
    const model = reference.slice(0, slash);
    const variant = reference.slice(slash + 1);
    const variants = catalog.models.get(model);
    if (!variants) return { problem: unknownReference(pointer, "model", model, catalog.models.keys(), reference) };
    if (!scope.has(model)) {
      return { problem: error("reference/outside-models", pointer, `\`${reference}\` belongs to model \`${model}\`, which this gate's \`models\` leaves out`, `add \`${model}\` to \`models\`, or remove this variant`) };
    }
    if (!variants.has(variant)) {
      const suggestion = closest(variant, variants);
      const hint = suggestion ? `did you mean \`${model}/${suggestion}\`?` : `its variants: ${[...variants].map((v) => `\`${model}/${v}\``).join(", ") || "none"}`;
      return { problem: error("reference/unknown-variant", pointer, `model \`${model}\` has no variant \`${variant}\``, hint) };
    }
    return { model, variant };
  }
  const owners = [...scope].filter((model) => catalog.models.get(model)?.has(reference));
  if (owners.length === 1) return { model: owners[0], variant: reference };
  if (owners.length > 1) {
    return {
      problem: error("reference/ambiguous-variant", pointer, `several models have a variant \`${reference}\``, `name one: ${owners.map((m) => `\`${m}/${reference}\``).join(" or ")}`),
    };
  }
  const known = [...scope].flatMap((model) => [...(catalog.models.get(model) ?? [])]);
  return { problem: unknownReference(pointer, "variant", reference, known) };
}

function unknownReference(pointer: string, noun: string, id: string, known: Iterable<string>, written = id, prefix = "", at?: "key"): Problem {
  const list = [...known];
  const suggestion = closest(id, list);
  const hint = suggestion
    ? `did you mean \`${prefix}${suggestion}\`?`
    : list.length > 0
      ? `known: ${list.slice(0, 12).map((k) => `\`${prefix}${k}\``).join(", ")}${list.length > 12 ? ", …" : ""}`
      : `there is no ${noun.replace(/ of .*/u, "")} yet`;
  const code = noun.startsWith("device") ? "reference/unknown-device" : noun.startsWith("model") ? "reference/unknown-model" : "reference/unknown-variant";
  return error(code, pointer, `unknown ${noun} \`${written === id ? id : written}\``, hint, at);
}

function checkRelease(data: RawObject, catalog: Catalog, problems: Problem[]): void {
  const release = objectAt(data, "release");
  if (!release) return;
  const allModels = new Set(catalog.models.keys());
  const targets = objectAt(release, "targets");
  if (targets) {
    for (const [device, variant] of Object.entries(targets)) {
      const pointer = `/release/targets/${pointerSegment(device)}`;
      // A key that is not even a valid id is the schema's to report.
      if (!catalog.devices.has(device) && ID.test(device)) problems.push(unknownReference(pointer, "device", device, catalog.devices, device, "", "key"));
      if (typeof variant === "string" && REF.test(variant)) {
        const problem = resolveVariant(variant, pointer, catalog, allModels).problem;
        if (problem) problems.push(problem);
      }
    }
  }
  checkExpiry(release, problems);
  const rollout = objectAt(release, "rollout");
  const stages = listAt(rollout, "stages");
  let previous = 0;
  stages.forEach((stage, s) => {
    const percent = isObject(stage) ? stage.percent : undefined;
    if (typeof percent !== "number") return;
    if (percent <= previous && s > 0) {
      problems.push(error("release/stage-order", `/release/rollout/stages/${s}/percent`, `rollout stage ${s + 1} (${percent}%) does not go beyond stage ${s} (${previous}%)`, "each stage must reach more devices than the one before"));
    }
    previous = Math.max(previous, percent);
  });
  const last = stages[stages.length - 1];
  if (isObject(last) && typeof last.percent === "number" && last.percent !== 100) {
    problems.push(error("release/incomplete-rollout", `/release/rollout/stages/${stages.length - 1}/percent`, `the last rollout stage reaches ${last.percent}% of devices, so the release never reaches the whole fleet`, "end with `{ percent: 100 }`"));
  }
  const abort = objectAt(rollout, "abort");
  if (abort) {
    const rate = readValue("fraction", abort["failure-rate"]);
    if (typeof abort["failure-rate"] === "string" && typeof rate === "number" && rate > 1) problems.push(error("value/out-of-range", "/release/rollout/abort/failure-rate", "`failure-rate` is a share of devices; it cannot exceed 100%", "e.g. `failure-rate: 2%`"));
  }
}

/**
 * Each role's metadata expiry: not zero, none beyond root's (a role cannot
 * outlive the keys that trust it), and timestamp's not beyond snapshot's
 * (the timestamp names the snapshot; outliving it only lets a freeze last).
 * A default that breaks a rule because of a written value is reported at the
 * written one.
 */
function checkExpiry(release: RawObject, problems: Problem[]): void {
  const expiry = objectAt(release, "expiry");
  if (!expiry) return;
  const written = new Map<ExpiryRole, number>();
  for (const role of EXPIRY_ROLES) {
    const value = readValue("duration", expiry[role]);
    if (typeof value === "number") written.set(role, value);
  }
  const pointer = (role: ExpiryRole): string => `/release/expiry/${role}`;
  const effective = (role: ExpiryRole): number => written.get(role) ?? DEFAULTS.expiryMs[role];
  const shown = (role: ExpiryRole): string => (written.has(role) ? `\`${formatDuration(effective(role))}\`` : `the default \`${formatDuration(effective(role))}\``);
  for (const [role, value] of written) {
    if (value <= 0) problems.push(error("release/zero-expiry", pointer(role), `the ${role} role's metadata would expire as soon as it is signed`, "write a positive duration, e.g. `1d`"));
  }
  const root = effective("root");
  for (const role of EXPIRY_ROLES) {
    if (role === "root" || effective(role) <= root || effective(role) <= 0 || root <= 0) continue;
    if (!written.has(role) && !written.has("root")) continue;
    const at = written.has(role) ? role : "root";
    problems.push(
      error(
        "release/expiry-beyond-root",
        pointer(at),
        `the ${role} role's expiry (${shown(role)}) is longer than the root role's (${shown("root")}), which trusts its keys`,
        at === role ? `at most \`${formatDuration(root)}\`, or lengthen \`root\`` : `set \`${role}\` to at most \`${formatDuration(root)}\` too, or lengthen \`root\``,
      ),
    );
  }
  const timestamp = effective("timestamp");
  const snapshot = effective("snapshot");
  if (timestamp > snapshot && timestamp > 0 && snapshot > 0 && (written.has("timestamp") || written.has("snapshot"))) {
    const at = written.has("timestamp") ? "timestamp" : "snapshot";
    problems.push(
      error(
        "release/timestamp-beyond-snapshot",
        pointer(at),
        `the timestamp role's expiry (${shown("timestamp")}) is longer than the snapshot role's (${shown("snapshot")}), the metadata it names`,
        at === "timestamp" ? `at most \`${formatDuration(snapshot)}\`, or lengthen \`snapshot\`` : `set \`timestamp\` to at most \`${formatDuration(snapshot)}\` too, or lengthen \`snapshot\``,
      ),
    );
  }
}

async function checkPaths(data: RawObject, context: SemanticContext): Promise<Problem[]> {
  const checks: PathCheck[] = [];
  listAt(data, "models").forEach((model, m) => {
    const id = stringAt(model, "id");
    const owner = id === undefined ? `model ${m + 1}` : `model \`${id}\``;
    const source = stringAt(model, "source");
    if (source !== undefined) checks.push({ pointer: `/models/${m}/source`, written: source, what: "source model", owner });
    const evaluation = objectAt(model, "eval");
    const dataset = stringAt(evaluation, "dataset");
    if (dataset !== undefined) checks.push({ pointer: `/models/${m}/eval/dataset`, written: dataset, what: "eval dataset", owner });
    const tokenizer = stringAt(evaluation, "tokenizer");
    if (tokenizer !== undefined) checks.push({ pointer: `/models/${m}/eval/tokenizer`, written: tokenizer, what: "tokenizer", owner });
    const calibration = objectAt(model, "calibration");
    const calibrationSet = stringAt(calibration, "dataset");
    if (calibrationSet !== undefined) checks.push({ pointer: `/models/${m}/calibration/dataset`, written: calibrationSet, what: "calibration dataset", owner });
    const calibrationTokenizer = stringAt(calibration, "tokenizer");
    if (calibrationTokenizer !== undefined) checks.push({ pointer: `/models/${m}/calibration/tokenizer`, written: calibrationTokenizer, what: "tokenizer", owner });
  });
  // Many models often share a file (one eval set): each path is checked on disk once, and again only to explain a failure.
  const verdicts = new Map<string, Promise<Problem | undefined>>();
  const results = await Promise.all(
    checks.map(async (check) => {
      if (check.written === "") return undefined; // the schema reports an empty path
      const text = checkPathText(check);
      if (!text.ok) return text.problem;
      if (!context.checkFiles) return undefined;
      const earlier = verdicts.get(text.normalized);
      if (earlier && (await earlier) === undefined) return undefined;
      const verdict = checkPathOnDisk(check, text.normalized, context.root, context.realRoot);
      if (!earlier) verdicts.set(text.normalized, verdict);
      return verdict;
    }),
  );
  return results.filter((p): p is Problem => p !== undefined);
}
