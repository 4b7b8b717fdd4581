/**
 * Where built variants live. optimize writes them here, bench reads them
 * from here, and the release takes them from here:
 *
 *     <variants-dir>/<model>/<variant>/model.onnx   (+ its external data beside it)
 *
 * `<variants-dir>` defaults to {@link DEFAULT_VARIANTS_DIR} beside the
 * manifest. `<model>/<variant>` is published whole, as a link to a complete
 * build directory (see `@slmops/contained-fs`'s published directory).
 */
import { join } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";

/** The variants directory, relative to the manifest's directory, when none is named. */
export const DEFAULT_VARIANTS_DIR = ".slmops/variants";

/** The model file of a built variant, in its directory. */
export const VARIANT_MODEL_FILE = "model.onnx";

/** Ids become directory names: checked again before a path is built from them. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkId(id: string): void {
  if (!SAFE_ID.test(id) || id.includes("..")) {
    throw new ConfigurationError(`id \`${id}\` cannot be a directory name; ids are letters, digits, '.', '_' and '-'`);
  }
}

/** A built variant's directory: `<variantsDir>/<model>/<variant>`. Refuses ids that are not plain names. */
export function variantDirectory(variantsDir: string, model: string, variant: string): string {
  checkId(model);
  checkId(variant);
  return join(variantsDir, model, variant);
}

/** A built variant's model file: `<variantsDir>/<model>/<variant>/model.onnx`. */
export function variantModelPath(variantsDir: string, model: string, variant: string): string {
  return join(variantDirectory(variantsDir, model, variant), VARIANT_MODEL_FILE);
}
