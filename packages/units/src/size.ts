import { quote, UnitError, type UnitResult } from "./errors.js";
import { DECIMAL_SOURCE, splitNumber } from "./number.js";

/**
 * Byte multipliers. Binary (IEC) units are powers of 1024, decimal (SI) units
 * powers of 1000; the suffix is case-sensitive, because `mb` (millibits) and
 * `Mb` (megabits) are not bytes and guessing would hide a mistake.
 */
export const SIZE_UNITS: Readonly<Record<string, bigint>> = Object.freeze({
  B: 1n,
  KB: 1000n,
  MB: 1000n ** 2n,
  GB: 1000n ** 3n,
  TB: 1000n ** 4n,
  PB: 1000n ** 5n,
  KiB: 1024n,
  MiB: 1024n ** 2n,
  GiB: 1024n ** 3n,
  TiB: 1024n ** 4n,
  PiB: 1024n ** 5n,
});

/**
 * Regular expression source (no anchors' flags needed) that matches exactly
 * the sizes `parseSize` accepts, apart from range checks. The JSON schema uses
 * the same text so editors and the loader agree.
 */
export const SIZE_PATTERN = `^${DECIMAL_SOURCE}(?:B|KB|MB|GB|TB|PB|KiB|MiB|GiB|TiB|PiB)$`;

const MAX_BYTES = BigInt(Number.MAX_SAFE_INTEGER);

/** Lower-cased spellings people try, mapped to the unit they most likely meant. */
const LIKELY: Readonly<Record<string, string>> = {
  b: "B",
  byte: "B",
  bytes: "B",
  k: "KiB",
  kb: "KB",
  ki: "KiB",
  kib: "KiB",
  m: "MiB",
  mb: "MB",
  mi: "MiB",
  mib: "MiB",
  g: "GiB",
  gb: "GB",
  gi: "GiB",
  gib: "GiB",
  t: "TiB",
  tb: "TB",
  ti: "TiB",
  tib: "TiB",
  p: "PiB",
  pb: "PB",
  pi: "PiB",
  pib: "PiB",
};

/**
 * Parses a size as people write it and returns a whole number of bytes.
 *
 * Accepted: a decimal number directly followed by a unit — `B`, `KB`, `MB`,
 * `GB`, `TB`, `PB` (powers of 1000) or `KiB`, `MiB`, `GiB`, `TiB`, `PiB`
 * (powers of 1024): `512MiB`, `2GiB`, `1.5GB`, `100KB`, `123B`.
 *
 * Refused, each with a hint: a bare number (`123` — is it bytes or
 * megabytes? write `123B`), spaces (`512 MiB`), other spellings (`512mb`,
 * `512M`, `512Mi`), a fraction of a byte (`0.1KiB`), and values above
 * 2^53 - 1 bytes.
 *
 * @throws UnitError when the text is not a size.
 */
export function parseSize(text: string): number {
  const result = tryParseSize(text);
  if (!result.ok) throw result.error;
  return result.value;
}

/** Like `parseSize`, but returns the error instead of throwing it. */
export function tryParseSize(text: string): UnitResult {
  const fail = (message: string, hint?: string): UnitResult => ({
    ok: false,
    error: new UnitError("size", text, message, hint),
  });
  if (typeof text !== "string") return fail(`expected a size such as \`512MiB\`, got ${typeof text}`);
  const trimmed = text.trim();
  if (trimmed === "") return fail("expected a size such as `512MiB`, got an empty string");

  const parts = splitNumber(trimmed);
  if (!parts) {
    if (trimmed.startsWith("-")) return fail(`a size cannot be negative: ${quote(text)}`);
    return fail(`expected a size such as \`512MiB\`, got ${quote(text)}`, "write a number followed by a unit: B, KB, MB, GB, TB, KiB, MiB, GiB or TiB");
  }
  const { numberText, unit } = parts;
  const factor = SIZE_UNITS[unit];
  if (factor === undefined || text !== trimmed) {
    return fail(`${quote(text)} is not a size: ${describeUnitProblem(numberText, unit, text !== trimmed)}`, suggestSize(numberText, unit));
  }

  const bytes = exactProduct(numberText, factor);
  if (bytes === undefined) {
    return fail(`${quote(text)} is not a whole number of bytes`, "write a value that comes to whole bytes, e.g. in a smaller unit or in `B`");
  }
  if (bytes > MAX_BYTES) return fail(`${quote(text)} is too large (more than ${Number.MAX_SAFE_INTEGER} bytes)`);
  return { ok: true, value: Number(bytes) };
}

function describeUnitProblem(numberText: string, unit: string, padded: boolean): string {
  if (padded) return "remove the surrounding spaces";
  if (unit === "") return "a unit is missing";
  if (/^\s/u.test(unit)) return "there must be no space between the number and the unit";
  return `\`${unit.length > 12 ? `${unit.slice(0, 12)}...` : unit}\` is not a unit of size`;
}

/** "write `512MiB`, not `512 mb`" — the most likely correct spelling. */
function suggestSize(numberText: string, unit: string): string {
  const written = `${numberText}${unit}`;
  const bare = unit.trim();
  if (bare === "") return `write \`${numberText}B\` for bytes, or add a unit such as \`${numberText}MiB\``;
  const meant = LIKELY[bare.toLowerCase()];
  if (meant) {
    const alternative = meant.endsWith("iB") ? meant.replace("iB", "B") : meant.replace(/B$/u, "iB");
    const also = meant === "B" ? "" : ` (or \`${numberText}${alternative}\` for ${alternative.endsWith("iB") ? "powers of 1024" : "powers of 1000"})`;
    return `write \`${numberText}${meant}\`${also}, not \`${written}\``;
  }
  return "units of size are B, KB, MB, GB, TB, PB (powers of 1000) and KiB, MiB, GiB, TiB, PiB (powers of 1024)";
}

/** numberText × factor as an exact integer, or undefined when it is not whole. */
function exactProduct(numberText: string, factor: bigint): bigint | undefined {
  const [whole = "0", fraction = ""] = numberText.split(".");
  const scale = 10n ** BigInt(fraction.length);
  const numerator = BigInt(whole + fraction) * factor;
  if (numerator % scale !== 0n) return undefined;
  return numerator / scale;
}

/**
 * Formats bytes the way people read them: the largest unit that gives a
 * short exact value (`536870912` → `512MiB`), else up to two decimals
 * (`1.5GiB`), binary units by default or decimal ones with `{ binary: false }`.
 */
export function formatSize(bytes: number, options: { binary?: boolean } = {}): string {
  if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`formatSize needs a non-negative finite number, got ${bytes}`);
  const binary = options.binary ?? true;
  const units = binary ? ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] : ["B", "KB", "MB", "GB", "TB", "PB"];
  const base = binary ? 1024 : 1000;
  let value = bytes;
  let index = 0;
  while (value >= base && index < units.length - 1) {
    value /= base;
    index++;
  }
  const rounded = Math.round(value * 100) / 100;
  return `${Number.isInteger(rounded) ? rounded.toFixed(0) : String(rounded)}${units[index]}`;
}
