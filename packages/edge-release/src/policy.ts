/**
 * The repository's roles, their signature thresholds and their expiry.
 */
import { ConfigurationError } from "@slmops/diagnostics";
import { Key } from "@tufjs/models";
import type { SigningKey } from "./keys.js";

export type TopLevelRole = "root" | "targets" | "snapshot" | "timestamp";
export type RoleName = TopLevelRole | "rollout";
export const ROLE_NAMES: readonly RoleName[] = ["root", "targets", "snapshot", "timestamp", "rollout"];

const DAY = 24 * 60 * 60 * 1000;

/**
 * Default lifetime of each role's metadata, in milliseconds. The shorter a
 * role's life, the shorter a freeze attack (serving a device old, validly
 * signed metadata) can last; the longer, the rarer a key must be used.
 *
 * - root, 365 days: its keys are offline and used in a ceremony; once a year
 *   is as often as that can be asked, and a lost root cannot outlive a year.
 * - targets, 90 days: signed when a release is published, by a key kept out
 *   of scheduled jobs; a quarter covers a release cadence without leaving a
 *   withdrawn model trusted for long.
 * - rollout, 7 days: signed by the scheduled promote job, which runs far
 *   more often; a week bounds how long a halt can be hidden from a device.
 * - snapshot, 7 days and timestamp, 1 day: online keys, re-signed by every
 *   publish and promote and by a daily refresh; a day bounds a freeze of the
 *   whole repository.
 */
export const DEFAULT_EXPIRY: Readonly<Record<RoleName, number>> = {
  root: 365 * DAY,
  targets: 90 * DAY,
  rollout: 7 * DAY,
  snapshot: 7 * DAY,
  timestamp: 1 * DAY,
};

/** Expiry per role in milliseconds (the manifest's durations, parsed). */
export type Expiry = Partial<Record<RoleName, number>>;

export function expiryOf(role: RoleName, expiry: Expiry | undefined): number {
  const value = expiry?.[role] ?? DEFAULT_EXPIRY[role];
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError(`the expiry of the ${role} role must be a positive duration`);
  }
  return value;
}

/** TUF's `expires`: an ISO 8601 UTC time without fractional seconds. */
export function expiresAt(now: Date, lifetime: number): string {
  return new Date(Math.floor((now.getTime() + lifetime) / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** The public keys a role trusts and how many of them must sign. */
export interface RoleKeys {
  readonly keys: readonly (SigningKey | Key)[];
  /** Signatures required; default 1. */
  readonly threshold?: number;
}

export function publicKeyOf(key: SigningKey | Key): Key {
  return key instanceof Key ? key : key.publicKey();
}

export function checkedThreshold(role: RoleName, keys: RoleKeys): number {
  const threshold = keys.threshold ?? 1;
  const distinct = new Set(keys.keys.map((key) => publicKeyOf(key).keyID)).size;
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw new ConfigurationError(`the ${role} role's threshold must be a whole number of at least 1`);
  }
  if (distinct < threshold) {
    throw new ConfigurationError(`the ${role} role needs ${threshold} signatures but has only ${distinct} distinct key(s)`);
  }
  return threshold;
}

/** The private keys an operation may sign with, per role. */
export type Signers = Partial<Record<RoleName, readonly SigningKey[]>>;
