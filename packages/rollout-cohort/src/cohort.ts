import { createHash, randomBytes } from "node:crypto";
import { ConfigurationError } from "@slmops/diagnostics";

/** The salt is exactly this many bytes, so `salt ‖ device id` splits one way only. */
export const COHORT_SALT_BYTES = 32;
/** The longest device id, in bytes of UTF-8. */
export const MAX_DEVICE_ID_BYTES = 256;
/** The most digits a percentage may have after its decimal point. */
export const MAX_PERCENT_DECIMALS = 6;

const TWO_TO_64 = 1n << 64n;
const SALT_PATTERN = /^[0-9a-f]{64}$/;
const PERCENT_PATTERN = /^(0|[1-9][0-9]{0,2})(?:\.([0-9]{1,6}))?$/;
const CONTROL = /\p{Cc}/u;
const LONE_SURROGATE = /\p{Cs}/u;
const EDGE_WHITESPACE = /^\s|\s$/u;

/**
 * A stage's percentage as an exact decimal: `numerator / 10^decimals` percent.
 * `12.5` is `{ numerator: 125n, decimals: 1 }`; no floating point is involved.
 */
export interface CohortPercent {
  readonly numerator: bigint;
  readonly decimals: number;
  /** The canonical decimal text, without trailing zeros: `12.5`, `0.1`, `100`. */
  readonly text: string;
}

/**
 * Read a stage's percentage: a number or a decimal string from 0 to 100 with
 * at most {@link MAX_PERCENT_DECIMALS} digits after the point (`5`, `12.5`,
 * `"99.9"`). A number is read through its shortest decimal form (`0.1` is
 * exactly one tenth), so what the user wrote is what is compared.
 */
export function parseCohortPercent(value: number | string): CohortPercent {
  let text: string;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw percentError(String(value));
    text = Object.is(value, -0) ? "0" : String(value);
  } else if (typeof value === "string") {
    text = value;
  } else {
    throw new ConfigurationError("a rollout percentage must be a number from 0 to 100, such as `5` or `12.5`");
  }
  const match = PERCENT_PATTERN.exec(text);
  if (!match) throw percentError(text);
  const fraction = (match[2] ?? "").replace(/0+$/, "");
  const whole = match[1] ?? "0";
  const numerator = BigInt(whole + fraction);
  const decimals = fraction.length;
  if (numerator > 100n * 10n ** BigInt(decimals)) {
    throw new ConfigurationError(`\`${text}\` is not a rollout percentage: it is more than 100`);
  }
  return { numerator, decimals, text: fraction ? `${whole}.${fraction}` : whole };
}

function percentError(text: string): ConfigurationError {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return new ConfigurationError(
    `\`${JSON.stringify(shown).slice(1, -1)}\` is not a rollout percentage: write a decimal number from 0 to 100 ` +
      `with at most ${MAX_PERCENT_DECIMALS} digits after the point, such as \`5\` or \`12.5\``,
  );
}

/**
 * The bytes of a salt: 64 lowercase hexadecimal characters, decoded to 32
 * bytes. Refuses anything else.
 */
export function cohortSaltBytes(salt: string): Buffer {
  if (typeof salt !== "string" || !SALT_PATTERN.test(salt)) {
    const length = typeof salt === "string" ? `${salt.length} characters` : `a ${typeof salt}`;
    throw new ConfigurationError(
      `the rollout salt must be ${COHORT_SALT_BYTES * 2} lowercase hexadecimal characters (${COHORT_SALT_BYTES} bytes); it is ${length}` +
        (typeof salt === "string" && salt.length === COHORT_SALT_BYTES * 2 ? " that are not all lowercase hexadecimal" : ""),
    );
  }
  return Buffer.from(salt, "hex");
}

/**
 * The bytes of a device id: its UTF-8, 1 to {@link MAX_DEVICE_ID_BYTES}
 * bytes. No control characters, no unpaired surrogates (they have no UTF-8),
 * no leading or trailing whitespace: a stray newline from a file would
 * otherwise silently put the device in a different cohort. No Unicode
 * normalisation is applied.
 */
export function deviceIdBytes(deviceId: string): Buffer {
  if (typeof deviceId !== "string" || deviceId.length === 0) {
    throw new ConfigurationError("a device id must be a non-empty string");
  }
  if (LONE_SURROGATE.test(deviceId)) {
    throw new ConfigurationError("a device id must be well-formed Unicode: it has an unpaired surrogate");
  }
  if (CONTROL.test(deviceId)) {
    throw new ConfigurationError("a device id must not contain control characters (a newline, a tab, …)");
  }
  if (EDGE_WHITESPACE.test(deviceId)) {
    throw new ConfigurationError("a device id must not begin or end with whitespace");
  }
  const bytes = Buffer.from(deviceId, "utf8");
  if (bytes.length > MAX_DEVICE_ID_BYTES) {
    throw new ConfigurationError(`a device id must be at most ${MAX_DEVICE_ID_BYTES} bytes of UTF-8; this one is ${bytes.length}`);
  }
  return bytes;
}

/**
 * The device's position: the first 8 bytes of
 * sha256(salt bytes ‖ device id bytes) as a big-endian unsigned integer, in
 * [0, 2^64).
 */
export function cohortValue(salt: string, deviceId: string): bigint {
  const digest = createHash("sha256").update(cohortSaltBytes(salt)).update(deviceIdBytes(deviceId)).digest();
  return digest.readBigUInt64BE(0);
}

/**
 * The least integer at or above p/100 × 2^64: a device is in the stage
 * exactly when its {@link cohortValue} is below it. 0 → 0 (nobody),
 * 100 → 2^64 (everybody).
 */
export function cohortThreshold(percent: number | string | CohortPercent): bigint {
  const p = asPercent(percent);
  const denominator = 100n * 10n ** BigInt(p.decimals);
  const scaled = p.numerator * TWO_TO_64;
  return (scaled + denominator - 1n) / denominator;
}

/**
 * Whether the device is in a stage of the given percentage:
 * value / 2^64 < percent / 100, compared exactly as
 * value × 100 × 10^decimals < numerator × 2^64.
 */
export function inCohort(salt: string, deviceId: string, percent: number | string | CohortPercent): boolean {
  const p = asPercent(percent);
  return cohortValue(salt, deviceId) * 100n * 10n ** BigInt(p.decimals) < p.numerator * TWO_TO_64;
}

/** A parsed percentage is read again from its text, so a hand-made one is checked too. */
function asPercent(percent: number | string | CohortPercent): CohortPercent {
  if (typeof percent === "object" && percent !== null) return parseCohortPercent(percent.text);
  return parseCohortPercent(percent);
}

/** A fresh salt for a new release's rollout: 32 random bytes, as lowercase hex. */
export function newCohortSalt(): string {
  return randomBytes(COHORT_SALT_BYTES).toString("hex");
}
