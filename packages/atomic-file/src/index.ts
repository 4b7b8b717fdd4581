/**
 * Crash-safe file writes. Content goes to a temporary file in the target's
 * directory, is flushed to disk, then renamed over the target and the
 * directory flushed: readers, concurrent writers and a machine that crashes
 * or loses power see the old file or the new one, whole, never a mix.
 */
export { AtomicWriteError, type AtomicWriteStep } from "./errors.js";
export { type AtomicWriteOptions } from "./temp-file.js";
export { withAtomicFile } from "./with-atomic-file.js";
export {
  writeFileAtomic,
  writeJsonAtomic,
  type WriteFileAtomicOptions,
  type WriteJsonAtomicOptions,
} from "./write-file-atomic.js";
export { AtomicWriteStream, createAtomicWriteStream, type AtomicWriteStreamOptions } from "./atomic-write-stream.js";
export { DEFAULT_SYNC_EVERY_BYTES } from "./temp-file.js";
export { removeStaleTempFiles } from "./stale-temp-files.js";
export { syncDirectory } from "./sync-directory.js";
