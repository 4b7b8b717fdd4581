/**
 * Which devices are in a rollout stage. A device is in a stage of p percent
 * when the first 64 bits of sha256(salt ‖ device id), as a fraction of 2^64,
 * lie below p / 100, compared exactly. Raising a percentage never removes a
 * device; a new salt draws an independent cohort. The release publishes the
 * salt and the stages; the device agent decides with the same function.
 */
export {
  COHORT_SALT_BYTES,
  MAX_DEVICE_ID_BYTES,
  MAX_PERCENT_DECIMALS,
  cohortSaltBytes,
  cohortThreshold,
  cohortValue,
  deviceIdBytes,
  inCohort,
  newCohortSalt,
  parseCohortPercent,
  type CohortPercent,
} from "./cohort.js";
