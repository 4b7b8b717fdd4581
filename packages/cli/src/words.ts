/** `n word`, with an `s` unless n is 1: `1 variant`, `3 errors`. */
export function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
