/**
 * Whether a job's variants were built: the one check in this package that
 * looks at the disk.
 */
import { statSync } from "node:fs";
import type { BenchJob } from "./bench-job.js";

/** A variant of a job whose model file is not there. */
export interface MissingVariant {
  readonly model: string;
  readonly variant: string;
  readonly path: string;
}

/** The variants of `job` whose `model.onnx` does not exist (as a file). */
export function missingVariants(job: BenchJob): MissingVariant[] {
  const missing: MissingVariant[] = [];
  for (const model of job.models) {
    for (const variant of model.variants) {
      const isFile = statSync(variant.path, { throwIfNoEntry: false })?.isFile() === true;
      if (!isFile) missing.push({ model: model.id, variant: variant.id, path: variant.path });
    }
  }
  return missing;
}
