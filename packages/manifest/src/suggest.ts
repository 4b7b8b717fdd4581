/**
 * "Did you mean …?": the candidate closest to what was written, when it is
 * close enough to be a likely typo (or the same words in another case or with
 * `_` instead of `-`).
 */
export function closest(written: string, candidates: Iterable<string>): string | undefined {
  const normal = normalize(written);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (normalize(candidate) === normal) return candidate;
    const distance = editDistance(written.toLowerCase(), candidate.toLowerCase(), bestDistance);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(1, Math.floor(Math.max(written.length, best.length) / 3));
  return bestDistance <= allowed ? best : undefined;
}

function normalize(text: string): string {
  return text.toLowerCase().replace(/[_\s.]/gu, "-");
}

/** Optimal string alignment distance (Levenshtein with transpositions), giving up above `ceiling`. */
function editDistance(a: string, b: string, ceiling: number): number {
  if (Math.abs(a.length - b.length) > ceiling) return Number.POSITIVE_INFINITY;
  if (a.length > 200 || b.length > 200) return Number.POSITIVE_INFINITY;
  let previous2: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, (previous2[j - 2] ?? 0) + 1);
      current.push(value);
    }
    previous2 = previous;
    previous = current;
  }
  return previous[b.length] ?? Number.POSITIVE_INFINITY;
}

/** `a`, `b` and `c` — for lists of allowed values in messages. */
export function listOf(values: readonly string[], limit = 12): string {
  const shown = values.slice(0, limit).map((v) => `\`${v}\``);
  if (values.length > limit) shown.push(`… (${values.length - limit} more)`);
  if (shown.length <= 1) return shown.join("");
  return `${shown.slice(0, -1).join(", ")} or ${shown[shown.length - 1]}`;
}
