/**
 * The repository tree as untrusted input. On a pull-request runner the
 * checked-out tree is whatever the pull request made it: FIFOs where files
 * should be, files of any size, symbolic links pointing anywhere. Reads go
 * through {@link readRegularFile}; every directory slmops writes goes through
 * the output-directory functions, which never follow a link out of their
 * root and never replace what slmops did not create.
 */
export { openRegularFile, readRegularFile, UnreadableFileError, type ReadRegularFileOptions, type UnreadableReason } from "./read.js";
export { ensureDirectory, ensureOutputDirectory, ensureOutputParent, ensureParentDirectory, pathInside, UnsafeOutputError, type UnsafeOutputReason } from "./directories.js";
export {
  COMPLETE_MARKER,
  discardBuild,
  publishBuild,
  publishedBuild,
  recoverBuilds,
  startBuild,
  type Build,
} from "./published-directory.js";
