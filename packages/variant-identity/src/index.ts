/**
 * @slmops/variant-identity — one identity for a built variant: where the
 * variants directory is and how it is laid out, the variant's files (model
 * and external data, each with length and sha256) and one digest over them,
 * and the check a device runs against files on disk. optimize records this
 * identity, bench reports its digest as `model-sha256`, and the release
 * signs exactly it. The digest's framing is defined in the README.
 */
export { DEFAULT_VARIANTS_DIR, VARIANT_MODEL_FILE, variantDirectory, variantModelPath } from "./layout.js";
export {
  checkVariantFileName,
  describeVariant,
  hashVariantFile,
  sameVariant,
  VARIANT_DIGEST_TAG,
  variantBytes,
  variantDigest,
  variantFiles,
  type HashedFile,
  type VariantFile,
  type VariantFiles,
} from "./identity.js";
export { VariantMismatchError, verifyVariantFiles, type VariantProblem, type VariantProblemKind } from "./verify.js";
