/**
 * Device tokens: 32 random bytes, shown once when issued, stored only as
 * their sha256. A token names one device; the collector refuses a report
 * whose device is not the token's. Revoking keeps the hash, so a revoked
 * token is told apart (403) from one never issued (401).
 */
import { createHash, randomBytes } from "node:crypto";
import type { CollectorStore } from "./store.js";

/** Every token starts with this, so secret scanners and people can recognise one. */
export const TOKEN_PREFIX = "slmops_dev_";

const TOKEN_PATTERN = /^slmops_dev_[A-Za-z0-9_-]{43}$/;

/** A new token: the prefix and 32 random bytes in base64url. */
export function newToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
}

/** Whether a string has the shape of a token (checked before any database lookup). */
export function isTokenShaped(text: string): boolean {
  return TOKEN_PATTERN.test(text);
}

/** sha256 of the token, hex: what the database keeps. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Issues a token for a device and stores its hash; the token itself is returned once and kept nowhere. */
export async function issueToken(store: CollectorStore, device: string, at: Date = new Date()): Promise<string> {
  const token = newToken();
  await store.addToken(device, hashToken(token), at);
  return token;
}
