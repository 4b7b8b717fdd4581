/**
 * What a change touches, from the files it changed and the manifest before
 * and after: everything, whole devices, whole models, or single variants —
 * each with the reason, so a plan can say why a device runs.
 */
import { posix } from "node:path";
import type { Manifest, Model } from "@slmops/manifest";
import { sameForBenchmark, without } from "./same.js";

/** The change being planned for. */
export interface Change {
  /** Files the change touched, relative to the repository root, `/`-separated. */
  readonly files: readonly string[];
  /**
   * The manifest as it is on the base of the change (normalized), or
   * undefined when the base has no manifest (the change adds it).
   */
  readonly baseManifest?: Manifest;
  /** Why there is no base manifest, when it is not that the change adds it (e.g. it does not load on the base). */
  readonly noBaseReason?: string;
}

/** What a change touches. An entry in `all` means every device runs every variant. */
export interface TouchedScope {
  /** Reasons that touch everything (empty when the change touches less). */
  readonly all: readonly string[];
  /** Device id → why every variant runs on it. */
  readonly devices: ReadonlyMap<string, readonly string[]>;
  /** Model id → why every variant of it runs on every device. */
  readonly models: ReadonlyMap<string, readonly string[]>;
  /** `model/variant` → why it runs on every device. */
  readonly variants: ReadonlyMap<string, readonly string[]>;
}

/** The `model/variant` key used in plans and matrices. */
export function variantKey(model: string, variant: string): string {
  return `${model}/${variant}`;
}

/**
 * `written` (a path in the manifest, relative to the manifest's root) as a
 * path relative to the repository root, given where the manifest's root sits
 * in the repository (`""` for the repository root).
 */
export function repositoryPath(rootInRepository: string, written: string): string {
  const joined = rootInRepository === "" || rootInRepository === "." ? written : `${rootInRepository}/${written}`;
  return posix.normalize(joined.split("\\").join("/")).replace(/^\.\//, "");
}

/**
 * Whether `file` is the model source `source` or one of its external data
 * files: a file in the same directory whose name starts with the source's
 * name less `.onnx` (`model.onnx.data`, `model.onnx_data`, `model.data`) and
 * that is not itself another `.onnx` model.
 */
export function isModelFile(source: string, file: string): boolean {
  if (file === source) return true;
  if (posix.dirname(file) !== posix.dirname(source)) return false;
  const stem = posix.basename(source).replace(/\.onnx$/i, "");
  const name = posix.basename(file);
  return name.startsWith(stem) && !/\.onnx$/i.test(name);
}

class Collector {
  readonly all: string[] = [];
  readonly devices = new Map<string, string[]>();
  readonly models = new Map<string, string[]>();
  readonly variants = new Map<string, string[]>();

  add(map: Map<string, string[]>, key: string, reason: string): void {
    const reasons = map.get(key) ?? [];
    if (!reasons.includes(reason)) reasons.push(reason);
    map.set(key, reasons);
  }
}

function modelFilesChanged(model: Model, rootInRepository: string, files: ReadonlySet<string>, collect: Collector): void {
  const source = repositoryPath(rootInRepository, model.source.written);
  for (const file of files) {
    if (isModelFile(source, file)) collect.add(collect.models, model.id, `${file} changed (model \`${model.id}\`)`);
  }
  const evalFiles = [
    ["eval set", model.eval?.dataset],
    ["tokenizer", model.eval?.tokenizer],
  ] as const;
  for (const [what, path] of evalFiles) {
    if (!path) continue;
    const file = repositoryPath(rootInRepository, path.written);
    if (files.has(file)) collect.add(collect.models, model.id, `${file} changed (${what} of \`${model.id}\`)`);
  }
}

function manifestChanged(head: Manifest, base: Manifest, collect: Collector): void {
  if (!sameForBenchmark(head.bench, base.bench)) collect.all.push("the bench settings changed");
  if (!sameForBenchmark(head.gates, base.gates)) collect.all.push("the gates changed");

  const baseDevices = new Map(base.devices.map((d) => [d.id, d]));
  for (const device of head.devices) {
    const before = baseDevices.get(device.id);
    if (!before) collect.add(collect.devices, device.id, `device \`${device.id}\` was added`);
    else if (!sameForBenchmark(without(device, "allowFromForks"), without(before, "allowFromForks"))) {
      collect.add(collect.devices, device.id, `device \`${device.id}\` changed`);
    }
  }

  const baseModels = new Map(base.models.map((m) => [m.id, m]));
  for (const model of head.models) {
    const before = baseModels.get(model.id);
    if (!before) {
      collect.add(collect.models, model.id, `model \`${model.id}\` was added`);
      continue;
    }
    if (!sameForBenchmark(without(model, "variants"), without(before, "variants"))) {
      collect.add(collect.models, model.id, `model \`${model.id}\` changed`);
    }
    const baseVariants = new Map(before.variants.map((v) => [v.id, v]));
    for (const variant of model.variants) {
      const key = variantKey(model.id, variant.id);
      const was = baseVariants.get(variant.id);
      if (!was) collect.add(collect.variants, key, `variant \`${key}\` was added`);
      else if (!sameForBenchmark(variant.passes, was.passes)) collect.add(collect.variants, key, `the passes of \`${key}\` changed`);
    }
  }
}

/**
 * What `change` touches in `manifest` (the manifest after the change).
 * `rootInRepository` is the manifest's root relative to the repository root
 * (`""` when they are the same), so manifest paths can be matched with the
 * changed files.
 */
export function touchedBy(manifest: Manifest, change: Change, rootInRepository: string): TouchedScope {
  const collect = new Collector();
  const files = new Set(change.files.map((f) => repositoryPath("", f)));
  if (!change.baseManifest) collect.all.push(change.noBaseReason ?? "the manifest is new in this change");
  else manifestChanged(manifest, change.baseManifest, collect);
  for (const model of manifest.models) modelFilesChanged(model, rootInRepository, files, collect);
  return collect;
}

/** A scope that touches everything, for one reason. */
export function touchAll(reason: string): TouchedScope {
  return { all: [reason], devices: new Map(), models: new Map(), variants: new Map() };
}
