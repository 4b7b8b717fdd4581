/**
 * @slmops/edge-release — signed, versioned model releases for edge devices:
 * a TUF 1.0 repository (root, targets, snapshot, timestamp; consistent
 * snapshots) in a directory any static host can serve, with each release's
 * variant files as targets carrying what a device needs to check them, a
 * delegated rollout role that signs rollout state and nothing else, and
 * channels kept apart.
 */
export { generateSigningKey, keyIdOf, publicKeyObjectOf, SigningKey, signingKeyFromEnvironment, signingKeyFromSecret } from "./keys.js";
export { DEFAULT_EXPIRY, ROLE_NAMES, type Expiry, type RoleKeys, type RoleName, type Signers, type TopLevelRole } from "./policy.js";
export {
  checkChannel,
  checkRelease,
  checkVersion,
  ROLLOUT_PREFIX,
  signableJson,
  type JsonValue,
  type Release,
  type ReleaseTarget,
  type ReleaseVerdict,
  type VariantFile,
  type VariantFiles,
} from "./release.js";
export {
  initRepository,
  loadRepository,
  metadataDirectory,
  provenancePath,
  publishRelease,
  readRolloutState,
  refreshRepository,
  rolloutStates,
  rolloutTargetPath,
  ROLLOUT_PATHS,
  ROLLOUT_ROLE,
  rotateRolloutKeys,
  rotateRoot,
  setRolloutState,
  signedTime,
  SPEC_VERSION,
  stageSoak,
  storedTargetPath,
  targetsDirectory,
  type InitOptions,
  type PublishOptions,
  type PublishResult,
  type RepositoryState,
  type RolloutChange,
  type RolloutState,
  type RotateRolloutOptions,
  type RotateRootOptions,
  type StageSoak,
} from "./repository.js";
export { RELEASE_ROLES, roleKeyVariable, type KeyRole } from "./key-variables.js";
export {
  defaultReleaseVersion,
  gateFailures,
  hasRepository,
  publishKeyRoles,
  publishReleases,
  readGateVerdict,
  refuseUnlessPassed,
  releasesFromManifest,
  rolloutPlanOf,
  signersFromEnvironment,
  verdictFor,
  type GateVerdictPair,
  type GateWording,
  type ManifestReleaseInput,
  type PublishedReleases,
} from "./from-manifest.js";
