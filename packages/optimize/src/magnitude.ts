/**
 * Exact magnitude thresholds over one or many float32 tensors, without
 * copying or sorting them: the bit pattern of a non-negative float orders
 * like the float, so two histogram passes over |x|'s bits (high 16, then low
 * 16 within the chosen high bucket) find the k-th smallest magnitude.
 */

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

function magnitudeBits(v: number): number {
  scratch[0] = v;
  return scratchBits[0]! & 0x7fffffff;
}

function bitsToFloat(bits: number): number {
  scratchBits[0] = bits;
  return scratch[0]!;
}

/**
 * The magnitude t such that exactly `count` values of `tensors` are strictly
 * below it or equal to it when ties are broken in order — more precisely, the
 * `count`-th smallest |x| (1-based) over all tensors; 0 when `count` is 0.
 */
export function kthSmallestMagnitude(tensors: readonly Float32Array[], count: number): number {
  if (count <= 0) return 0;
  const high = new Float64Array(1 << 16);
  let total = 0;
  for (const t of tensors) {
    for (let i = 0; i < t.length; i++) high[magnitudeBits(t[i]!) >>> 16]!++;
    total += t.length;
  }
  if (count > total) throw new RangeError(`asked for the ${count}-th of ${total} values`);
  let remaining = count;
  let bucket = 0;
  for (; bucket < high.length; bucket++) {
    if (remaining <= high[bucket]!) break;
    remaining -= high[bucket]!;
  }
  const low = new Float64Array(1 << 16);
  for (const t of tensors) {
    for (let i = 0; i < t.length; i++) {
      const b = magnitudeBits(t[i]!);
      if (b >>> 16 === bucket) low[b & 0xffff]!++;
    }
  }
  let sub = 0;
  for (; sub < low.length; sub++) {
    if (remaining <= low[sub]!) break;
    remaining -= low[sub]!;
  }
  return bitsToFloat(((bucket << 16) | sub) >>> 0);
}

/**
 * Zeroes the `count` smallest-magnitude values across `tensors` (in place),
 * breaking ties at the threshold in index order so the count is exact.
 * Returns how many values are zero afterwards.
 */
export function pruneSmallest(tensors: readonly Float32Array[], count: number): number {
  if (count <= 0) return countZeros(tensors);
  const threshold = kthSmallestMagnitude(tensors, count);
  let below = 0;
  for (const t of tensors) for (let i = 0; i < t.length; i++) if (Math.abs(t[i]!) < threshold) below++;
  let ties = count - below; // values equal to the threshold still to zero
  let zeros = 0;
  for (const t of tensors) {
    for (let i = 0; i < t.length; i++) {
      const a = Math.abs(t[i]!);
      if (a < threshold || (a === threshold && ties-- > 0)) t[i] = 0;
      if (t[i] === 0) zeros++;
    }
  }
  return zeros;
}

export function countZeros(tensors: readonly Float32Array[]): number {
  let zeros = 0;
  for (const t of tensors) for (let i = 0; i < t.length; i++) if (t[i] === 0) zeros++;
  return zeros;
}
