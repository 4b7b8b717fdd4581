/**
 * A token bucket per device, in this collector's memory: `burst` reports at
 * once, refilled at `perMinute`. Behind a load balancer every collector
 * keeps its own buckets, so a device may get up to n times the rate across
 * n collectors unless the balancer pins devices (hash on the Authorization
 * header); the database is not touched for this.
 */

export interface RateLimitOptions {
  /** Reports a device may send in a burst (default 20). */
  readonly burst?: number;
  /** Sustained reports per minute per device (default 60). */
  readonly perMinute?: number;
  /** Buckets kept at most; full buckets are dropped first (default 100 000). */
  readonly maxDevices?: number;
}

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly burst: number;
  readonly perMinute: number;
  readonly #maxDevices: number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;

  constructor(options: RateLimitOptions = {}, now: () => number = () => performance.now()) {
    this.burst = options.burst ?? 20;
    this.perMinute = options.perMinute ?? 60;
    if (!(this.burst >= 1) || !(this.perMinute > 0)) throw new RangeError(`a rate limit needs burst ≥ 1 and perMinute > 0, not ${this.burst} and ${this.perMinute}`);
    this.#maxDevices = options.maxDevices ?? 100_000;
    this.#now = now;
  }

  #refilled(bucket: Bucket, now: number): number {
    return Math.min(this.burst, bucket.tokens + ((now - bucket.at) * this.perMinute) / 60_000);
  }

  /** Takes one report from the device's bucket, or says how long to wait. */
  take(device: string): RateDecision {
    const now = this.#now();
    const bucket = this.#buckets.get(device);
    const tokens = bucket ? this.#refilled(bucket, now) : this.burst;
    if (tokens < 1) {
      const seconds = Math.ceil(((1 - tokens) * 60) / this.perMinute);
      if (bucket) {
        bucket.tokens = tokens;
        bucket.at = now;
      }
      return { allowed: false, retryAfterSeconds: Math.max(1, seconds) };
    }
    if (!bucket && this.#buckets.size >= this.#maxDevices) this.#sweep(now);
    this.#buckets.set(device, { tokens: tokens - 1, at: now });
    return { allowed: true };
  }

  /** Drops buckets that have refilled (they hold nothing a new bucket would not). */
  #sweep(now: number): void {
    for (const [device, bucket] of this.#buckets) if (this.#refilled(bucket, now) >= this.burst) this.#buckets.delete(device);
    // Still full of active devices: drop the oldest entries rather than grow without bound.
    for (const device of this.#buckets.keys()) {
      if (this.#buckets.size < this.#maxDevices) break;
      this.#buckets.delete(device);
    }
  }

  get size(): number {
    return this.#buckets.size;
  }
}
