/**
 * @slmops/health-check — a release's health-check fixture: a fixed input and
 * the built variant's own answer to it, with a tolerance. `makeHealthCheck`
 * runs the variant in ONNX Runtime when the release is built; the fixture is
 * signed with the release; `runHealthCheck` runs it on the device after
 * install, so an agent can tell a broken install (wrong or damaged weights,
 * another model, a model that no longer loads or runs) from a good one, and
 * a model that is too slow on the device from one within its budget.
 */
export {
  HEALTH_CHECK_LIMITS,
  HEALTH_CHECK_VERSION,
  InvalidHealthCheckError,
  parseHealthCheck,
  type Decimal,
  type DecoderHealthCheck,
  type FixtureElementType,
  type FixtureInput,
  type FixtureOutput,
  type GenericHealthCheck,
  type HealthCheck,
  type Tolerance,
} from "./fixture.js";
export {
  DECODE_TOKENS,
  FIXTURE_SEED,
  GENERIC_SEQUENCE,
  OUTPUT_INDICES,
  PREFILL_TOKENS,
  SPREAD_IDS,
  TOLERANCE,
  TOP_IDS,
  makeHealthCheck,
  type MakeHealthCheckOptions,
  type ModelKind,
} from "./make.js";
export { runHealthCheck, type HealthCheckResult, type RunHealthCheckOptions } from "./run.js";
