import { describe, expect, test } from "vitest";
import { RateLimiter } from "./rate-limit.js";

describe("the per-device rate limiter", () => {
  test("allows a burst, then refills at the sustained rate and says when to retry", () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 2, perMinute: 6 }, () => now);
    expect(limiter.take("a")).toEqual({ allowed: true });
    expect(limiter.take("a")).toEqual({ allowed: true });
    expect(limiter.take("a")).toEqual({ allowed: false, retryAfterSeconds: 10 });
    expect(limiter.take("b")).toEqual({ allowed: true });
    now = 4000;
    expect(limiter.take("a")).toEqual({ allowed: false, retryAfterSeconds: 6 });
    now = 10_000;
    expect(limiter.take("a")).toEqual({ allowed: true });
    expect(limiter.take("a").allowed).toBe(false);
    now = 1_000_000;
    expect(limiter.take("a")).toEqual({ allowed: true });
    expect(limiter.take("a")).toEqual({ allowed: true });
    expect(limiter.take("a").allowed).toBe(false);
  });

  test("keeps at most maxDevices buckets, dropping full ones first", () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 5, perMinute: 60, maxDevices: 100 }, () => now);
    for (let i = 0; i < 100; i++) limiter.take(`d${i}`);
    now = 60_000;
    limiter.take("late");
    expect(limiter.size).toBe(1);
    for (let i = 0; i < 500; i++) limiter.take(`e${i}`);
    expect(limiter.size).toBeLessThanOrEqual(100);
  });

  test("refuses a limit that cannot work", () => {
    expect(() => new RateLimiter({ burst: 0 })).toThrow(RangeError);
    expect(() => new RateLimiter({ perMinute: 0 })).toThrow(RangeError);
  });
});
