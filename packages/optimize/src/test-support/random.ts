/** A small seeded generator so test data is the same on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Normal(0, std) values, with a few heavy-tailed outliers like trained weights have. */
export function weightLike(count: number, seed: number, std = 0.02): Float32Array {
  const rand = seeded(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    let z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    if (rand() < 0.01) z *= 4;
    out[i] = z * std;
  }
  return out;
}
