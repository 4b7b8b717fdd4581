import { quote, UnitError, type UnitResult } from "./errors.js";
import { DECIMAL_SOURCE } from "./number.js";

/** Milliseconds per duration unit, largest first (the order compound durations must follow). */
export const DURATION_UNITS: readonly (readonly [unit: string, milliseconds: number])[] = Object.freeze([
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
  ["ms", 1],
  ["us", 0.001],
  ["µs", 0.001],
  ["ns", 0.000_001],
] as const);

/** Regular expression source that matches exactly the texts `parseDuration` accepts, apart from order and range checks. */
export const DURATION_PATTERN = `^(?:${DECIMAL_SOURCE}(?:d|h|ms|m|s|us|µs|ns))+$`;

const PART = /((?:0|[1-9][0-9]*)(?:\.[0-9]+)?)(ms|us|µs|ns|d|h|m|s)/uy;

/** Lower-cased spellings people try, mapped to the unit they most likely meant. */
const LIKELY: Readonly<Record<string, string>> = {
  sec: "s",
  secs: "s",
  second: "s",
  seconds: "s",
  min: "m",
  mins: "m",
  minute: "m",
  minutes: "m",
  hr: "h",
  hrs: "h",
  hour: "h",
  hours: "h",
  day: "d",
  days: "d",
  msec: "ms",
  msecs: "ms",
  millisecond: "ms",
  milliseconds: "ms",
  usec: "us",
  microsecond: "us",
  microseconds: "us",
  nanosecond: "ns",
  nanoseconds: "ns",
  s: "s",
  m: "m",
  h: "h",
  d: "d",
  ms: "ms",
  us: "us",
  ns: "ns",
};

/**
 * Parses a duration as people write it and returns milliseconds (possibly
 * fractional: `250us` → 0.25).
 *
 * Accepted: one or more `number unit` parts, largest unit first, each unit at
 * most once, no spaces: `40ms`, `10s`, `24h`, `1m30s`, `1h30m`, `250us`,
 * `1.5s`. Units: `d`, `h`, `m` (minutes), `s`, `ms`, `us` (or `µs`), `ns`.
 *
 * Refused, each with a hint: a bare number (`10` — seconds or
 * milliseconds?), spaces, other spellings (`10 sec`, `5min`), parts out of
 * order (`30s1m`) or repeated, negative values and values above 2^53 - 1 ms.
 *
 * @throws UnitError when the text is not a duration.
 */
export function parseDuration(text: string): number {
  const result = tryParseDuration(text);
  if (!result.ok) throw result.error;
  return result.value;
}

/** Like `parseDuration`, but returns the error instead of throwing it. */
export function tryParseDuration(text: string): UnitResult {
  const fail = (message: string, hint?: string): UnitResult => ({
    ok: false,
    error: new UnitError("duration", text, message, hint),
  });
  if (typeof text !== "string") return fail(`expected a duration such as \`10s\`, got ${typeof text}`);
  if (text.trim() === "") return fail("expected a duration such as `10s`, got an empty string");
  if (text.trim().startsWith("-")) return fail(`a duration cannot be negative: ${quote(text)}`);

  let total = 0;
  let position = 0;
  let previousRank = -1;
  const seen = new Set<string>();
  while (position < text.length) {
    PART.lastIndex = position;
    const match = PART.exec(text);
    if (!match) return fail(`${quote(text)} is not a duration`, suggestDuration(text));
    const [whole, numberText = "", unit = ""] = match;
    const canonical = unit === "µs" ? "us" : unit;
    const rank = DURATION_UNITS.findIndex(([u]) => u === canonical);
    if (seen.has(canonical)) return fail(`${quote(text)} repeats the unit \`${unit}\``, "write each unit once, largest first, e.g. `1m30s`");
    if (rank < previousRank) return fail(`${quote(text)} has its parts out of order`, "write the largest unit first, e.g. `1m30s`, not `30s1m`");
    seen.add(canonical);
    previousRank = rank;
    const factor = DURATION_UNITS[rank]?.[1] ?? 1;
    total += Number(numberText) * factor;
    position += whole.length;
  }
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) return fail(`${quote(text)} is too long a duration`);
  return { ok: true, value: total };
}

/** "write `10s`, not `10 sec`" — the most likely correct spelling. */
function suggestDuration(text: string): string {
  const match = /^\s*((?:0|[1-9][0-9]*)(?:\.[0-9]+)?)\s*([A-Za-zµ]*)\s*$/u.exec(text);
  if (match) {
    const [, numberText = "", unit = ""] = match;
    if (unit === "") return `add a unit: write \`${numberText}s\` for seconds or \`${numberText}ms\` for milliseconds`;
    const meant = LIKELY[unit.toLowerCase()];
    if (meant) return `write \`${numberText}${meant}\`, not \`${text}\``;
  }
  return "write a number followed by a unit, largest first and without spaces: `40ms`, `10s`, `1m30s`, `24h` (units: d, h, m, s, ms, us, ns)";
}

/**
 * Formats milliseconds the way `parseDuration` reads them: `90000` → `1m30s`,
 * `40` → `40ms`, `0.25` → `250us`. Values below a millisecond use `us` or
 * `ns`; sub-unit remainders are rounded to three decimals.
 */
export function formatDuration(milliseconds: number): string {
  if (!Number.isFinite(milliseconds) || milliseconds < 0) {
    throw new RangeError(`formatDuration needs a non-negative finite number, got ${milliseconds}`);
  }
  if (milliseconds === 0) return "0s";
  if (milliseconds < 0.001) return `${trim(milliseconds * 1_000_000)}ns`;
  if (milliseconds < 1) return `${trim(milliseconds * 1000)}us`;
  if (milliseconds < 1000) return `${trim(milliseconds)}ms`;
  let rest = milliseconds;
  let out = "";
  for (const [unit, size] of DURATION_UNITS.slice(0, 3)) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  if (rest >= 1000 || (rest > 0 && Number.isInteger(rest / 1000))) out += `${trim(rest / 1000)}s`;
  else if (rest > 0) out += Number.isInteger(rest) && rest < 1000 && out !== "" ? `${trim(rest)}ms` : `${trim(rest / 1000)}s`;
  return out;
}

function trim(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}
