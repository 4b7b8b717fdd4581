/**
 * @slmops/device-plan — which devices, models and variants a change touches.
 *
 * `planDevices` turns a manifest, the files a change touched and the base
 * branch's manifest into a GitHub Actions strategy matrix (one job per
 * device), refusing self-hosted devices for pull requests from forks unless
 * allowed, and saying why each device runs or was refused. `readChangeEvent`
 * reads what a workflow run is about from its event payload; `benchJob` maps
 * one device of the manifest onto a benchmark job.
 */
export { planDevices } from "./plan.js";
export type { DevicePlan, MatrixEntry, PlanInput, RefusedDevice, StrategyMatrix } from "./plan.js";
export { touchedBy, touchAll, variantKey, repositoryPath, isModelFile } from "./touched.js";
export type { Change, TouchedScope } from "./touched.js";
export { isSelfHosted, refusal } from "./fork-safety.js";
export type { Requester } from "./fork-safety.js";
export { readChangeEvent, changeRange, InvalidEventError } from "./event.js";
export type { ChangeEvent, OtherEvent, PullRequestEvent, PushEvent } from "./event.js";
export { benchJob, isAdHocLocal, LOCAL_DEVICE_ID } from "./bench-job.js";
/** The variants directory layout, defined once in `@slmops/variant-identity`. */
export { DEFAULT_VARIANTS_DIR, variantModelPath } from "@slmops/variant-identity";
export type { BenchJob, BenchJobDevice, BenchJobModel, BenchJobOptions, BenchJobSettings, BenchSettingsOverrides } from "./bench-job.js";
export { missingVariants } from "./variant-files.js";
export type { MissingVariant } from "./variant-files.js";
export { sameForBenchmark } from "./same.js";
export { changeFromGit, localRange, UnknownRefError } from "./git-change.js";
export type { GitChange, GitChangeInput, LocalRange } from "./git-change.js";
export { matchDevice, labelRequirements, deviceMismatchWarning } from "./device-match.js";
export type { DeviceCheck, DeviceCheckName, DeviceMatch, MachineFacts } from "./device-match.js";
export { fileAt, repositoryTop } from "./git.js";
