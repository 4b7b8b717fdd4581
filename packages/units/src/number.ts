/**
 * The number part of a unit value: plain decimal digits with an optional
 * fraction (`512`, `1.5`, `0.25`). No sign, no exponent, no leading `+`, no
 * thousands separators, so the text means the same to every reader.
 */
export const DECIMAL_SOURCE = "(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?";

/** Splits `"1.5GB"` into `{ number: 1.5, unit: "GB" }`; undefined when the number part is missing or malformed. */
export function splitNumber(text: string): { number: number; numberText: string; unit: string } | undefined {
  const match = /^((?:0|[1-9][0-9]*)(?:\.[0-9]+)?)(.*)$/su.exec(text);
  if (!match) return undefined;
  const numberText = match[1] ?? "";
  const number = Number(numberText);
  if (!Number.isFinite(number)) return undefined;
  return { number, numberText, unit: match[2] ?? "" };
}
