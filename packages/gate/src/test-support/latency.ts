/**
 * Simulated latency samples with realistic noise: log-normal around a median
 * with occasional slow outliers (a page fault, a context switch, thermal
 * throttling), as seen on small edge devices.
 */
import { normal, type Random } from "../random.js";

export interface LatencyNoise {
  /** Median latency in milliseconds. */
  readonly median: number;
  /** Standard deviation of log latency (0.08 ≈ 8% spread). */
  readonly sigma: number;
  /** Share of samples that are outliers. */
  readonly outlierRate: number;
  /** Outliers are slower by a factor drawn uniformly from this range. */
  readonly outlierFactor: readonly [number, number];
}

export const REALISTIC_NOISE: LatencyNoise = { median: 20, sigma: 0.08, outlierRate: 0.02, outlierFactor: [1.5, 4] };

/** `count` latency samples; `slowdown` 0.1 makes every one 10% slower. */
export function latencySamples(random: Random, count: number, noise: LatencyNoise, slowdown = 0): number[] {
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    let value = noise.median * Math.exp(noise.sigma * normal(random));
    if (random() < noise.outlierRate) value *= noise.outlierFactor[0] + random() * (noise.outlierFactor[1] - noise.outlierFactor[0]);
    out[i] = value * (1 + slowdown);
  }
  return out;
}
