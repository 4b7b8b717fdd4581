import { quote, UnitError, type UnitResult } from "./errors.js";
import { DECIMAL_SOURCE, splitNumber } from "./number.js";

/** Regular expression source that matches exactly the texts `parsePercentage` accepts. */
export const PERCENTAGE_PATTERN = `^${DECIMAL_SOURCE}%$`;

/**
 * Parses a percentage and returns it as a fraction: `5%` → 0.05,
 * `0.5%` → 0.005, `150%` → 1.5. The `%` sign is required and comes right
 * after the number; negative values are refused. Callers that need a range
 * (at most 100%) check it themselves, where they can say why.
 *
 * @throws UnitError when the text is not a percentage.
 */
export function parsePercentage(text: string): number {
  const result = tryParsePercentage(text);
  if (!result.ok) throw result.error;
  return result.value;
}

/** Like `parsePercentage`, but returns the error instead of throwing it. */
export function tryParsePercentage(text: string): UnitResult {
  const fail = (message: string, hint?: string): UnitResult => ({
    ok: false,
    error: new UnitError("percentage", text, message, hint),
  });
  if (typeof text !== "string") return fail(`expected a percentage such as \`5%\`, got ${typeof text}`);
  if (text.trim() === "") return fail("expected a percentage such as `5%`, got an empty string");
  if (text.trim().startsWith("-")) return fail(`a percentage cannot be negative: ${quote(text)}`);
  const parts = splitNumber(text);
  if (!parts) return fail(`expected a percentage such as \`5%\`, got ${quote(text)}`);
  if (parts.unit === "%") return { ok: true, value: Number(parts.numberText) / 100 };
  if (parts.unit === "") return fail(`${quote(text)} is not a percentage: the \`%\` sign is missing`, `write \`${parts.numberText}%\``);
  if (parts.unit.trim() === "%") return fail(`${quote(text)} is not a percentage`, `write \`${parts.numberText}%\`, without a space`);
  return fail(`${quote(text)} is not a percentage`, "write a number followed by `%`, e.g. `5%` or `0.5%`");
}

/** Formats a fraction as a percentage: 0.05 → `5%`, 0.125 → `12.5%` (up to three decimals). */
export function formatPercentage(fraction: number): string {
  if (!Number.isFinite(fraction) || fraction < 0) throw new RangeError(`formatPercentage needs a non-negative finite number, got ${fraction}`);
  return `${Math.round(fraction * 100 * 1000) / 1000}%`;
}
