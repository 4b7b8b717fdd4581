/**
 * Puts the pinned onnxruntime-node on a GitHub runner for the slmops actions,
 * whose bundles cannot carry its native addon: a preinstalled package, or the
 * version pinned by the lock this package ships, installed once per runner
 * into the tool cache and integrity-checked on every use; then a directory
 * where bundles that import `onnxruntime-node` resolve it.
 */
export { bindingPath, flavorFor, PACKAGE, type RuntimeFlavor, type RuntimePackage } from "./package.js";
export { pinnedVersion, readLockDir, SHIPPED_LOCK, type PinnedLock } from "./lock.js";
export { preinstalledRuntime } from "./preinstalled.js";
export { INTEGRITY_FILE, recordIntegrity, verifyIntegrity } from "./integrity.js";
export { cacheLayout, toolCacheRuntime, type CacheLayout, type ToolCacheOptions } from "./tool-cache.js";
export { locateRuntime, type LocateOptions } from "./locate.js";
export { importWithRuntime, stageBundles, type StagedBundles } from "./stage.js";
