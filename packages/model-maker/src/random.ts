/**
 * Seeded, platform-independent pseudo-random numbers. Every tensor and every
 * text draws from its own stream, keyed by (seed, name), so adding a layer or
 * a story never changes the numbers drawn for the others.
 */

/** A 32-bit integer hash of a string (FNV-1a). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** SplitMix32: spreads a 32-bit seed into well-mixed state words. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A deterministic random stream (the sfc32 generator: small, fast, passes
 * PractRand). Only integer arithmetic, so the same seed gives the same numbers
 * on every machine.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | undefined;

  /** A stream for `seed` and a name (e.g. a tensor's name). */
  constructor(seed: number, stream = "") {
    const state = { s: (seed >>> 0) ^ hashString(stream) };
    this.a = splitmix32(state);
    this.b = splitmix32(state);
    this.c = splitmix32(state);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new RangeError("pick from an empty list");
    return item;
  }

  /** Fills `out` with normal(mean, std) samples; the same values as calling {@link normal} in a loop. */
  fillNormal(out: Float32Array, mean: number, std: number): void {
    let i = 0;
    if (this.spare !== undefined && out.length > 0) {
      out[i++] = mean + std * this.spare;
      this.spare = undefined;
    }
    // The sfc32 step of nextUint32, inlined on local state: this loop makes every weight.
    let a = this.a;
    let b = this.b;
    let c = this.c;
    let d = this.d;
    let spare = Number.NaN;
    while (i < out.length) {
      let t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      const u = 2 * ((t >>> 0) / 4294967296) - 1;
      t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      const v = 2 * ((t >>> 0) / 4294967296) - 1;
      const s = u * u + v * v;
      if (s <= 0 || s >= 1) continue;
      const f = Math.sqrt((-2 * Math.log(s)) / s);
      out[i++] = mean + std * (u * f);
      if (i < out.length) out[i++] = mean + std * (v * f);
      else spare = v * f;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    if (!Number.isNaN(spare)) this.spare = spare;
  }

  /** Standard normal sample (Marsaglia's polar method). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        this.spare = v * f;
        return u * f;
      }
    }
  }
}
