import { createHash } from "node:crypto";
import { cohortSaltBytes, cohortThreshold, cohortValue, deviceIdBytes, inCohort, parseCohortPercent } from "./cohort.js";

/** The percentages every vector is checked at. */
export const GOLDEN_PERCENTS = ["0", "0.000001", "0.1", "5", "12.5", "25", "50", "99.9", "100"] as const;

/** The salts of the vectors: all zero bytes, counting bytes, and sha256 of a phrase. */
export const GOLDEN_SALTS = [
  "00".repeat(32),
  Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, "0")).join(""),
  createHash("sha256").update("slmops rollout cohort golden vectors", "utf8").digest("hex"),
] as const;

/** The device ids: short, typical, multi-byte UTF-8, and the longest allowed. */
export const GOLDEN_DEVICE_IDS = [
  "a",
  "device-0",
  "device-1",
  "rpi5-kitchen-01",
  "jetson-orin-nano/7f3c9a",
  "ünïcødé-設備-🚀",
  "x".repeat(256),
] as const;

/**
 * Ids that sit closest to a threshold, either side, so the comparison at
 * the edge is checked too: among `edge-0` … `edge-19999` under the second
 * salt, for each of these percentages, the id with the greatest value below
 * the threshold and the one with the least value at or above it.
 */
export const GOLDEN_EDGE_PERCENTS = ["0.1", "5", "12.5", "50", "99.9"] as const;
const EDGE_IDS = 20_000;

function edgeIds(salt: string): string[] {
  const values = Array.from({ length: EDGE_IDS }, (_, i) => ({ id: `edge-${i}`, value: cohortValue(salt, `edge-${i}`) }));
  const chosen: string[] = [];
  for (const percent of GOLDEN_EDGE_PERCENTS) {
    const t = cohortThreshold(percent);
    let below: { id: string; value: bigint } | undefined;
    let above: { id: string; value: bigint } | undefined;
    for (const v of values) {
      if (v.value < t && (!below || v.value > below.value)) below = v;
      if (v.value >= t && (!above || v.value < above.value)) above = v;
    }
    for (const v of [below, above]) if (v && !chosen.includes(v.id)) chosen.push(v.id);
  }
  return chosen;
}

export interface GoldenVectorsDocument {
  readonly description: string;
  readonly definition: readonly string[];
  readonly thresholds: readonly { readonly percent: string; readonly threshold: string }[];
  readonly vectors: readonly GoldenVector[];
}

export interface GoldenVector {
  readonly salt: string;
  readonly deviceId: string;
  /** salt bytes ‖ UTF-8 of the device id, in hex: what is hashed. */
  readonly message: string;
  readonly sha256: string;
  /** The first 8 bytes of the digest, big-endian: 16 hex digits. */
  readonly value: string;
  readonly membership: readonly { readonly percent: string; readonly in: boolean }[];
}

const hex64 = (n: bigint): string => n.toString(16).padStart(16, "0");

/** The golden vectors document, as `golden-vectors.json` holds it. */
export function goldenVectors(): GoldenVectorsDocument {
  return {
    description: "Golden vectors for slmops rollout cohorts. A device is in a stage when value / 2^64 < percent / 100.",
    definition: [
      "salt: 64 lowercase hexadecimal characters, decoded to 32 bytes",
      "deviceId: its UTF-8 bytes (1 to 256), no normalisation",
      "message = salt bytes ‖ deviceId bytes (no separator; the salt is always 32 bytes)",
      "value = the first 8 bytes of sha256(message) as a big-endian unsigned 64-bit integer",
      "percent = N / 10^d with at most 6 decimals, 0 ≤ percent ≤ 100",
      "in = value × 100 × 10^d < N × 2^64, exactly (equivalently value < threshold = ceil(N × 2^64 / (100 × 10^d)))",
    ],
    thresholds: GOLDEN_PERCENTS.map((percent) => ({ percent, threshold: cohortThreshold(percent).toString(16) })),
    vectors: [
      ...GOLDEN_SALTS.flatMap((salt) => GOLDEN_DEVICE_IDS.map((deviceId) => ({ salt, deviceId }))),
      ...edgeIds(GOLDEN_SALTS[1]).map((deviceId) => ({ salt: GOLDEN_SALTS[1], deviceId })),
    ].map(({ salt, deviceId }): GoldenVector => {
      const message = Buffer.concat([cohortSaltBytes(salt), deviceIdBytes(deviceId)]);
      return {
        salt,
        deviceId,
        message: message.toString("hex"),
        sha256: createHash("sha256").update(message).digest("hex"),
        value: hex64(cohortValue(salt, deviceId)),
        membership: GOLDEN_PERCENTS.map((percent) => ({ percent: parseCohortPercent(percent).text, in: inCohort(salt, deviceId, percent) })),
      };
    }),
  };
}

/** The file's text: two-space JSON and a final newline. */
export function goldenVectorsText(): string {
  return `${JSON.stringify(goldenVectors(), null, 2)}\n`;
}
