import { tryParseDuration, tryParsePercentage, tryParseSize, type UnitError } from "@slmops/units";

export type ValueKind = "duration" | "size" | "number" | "fraction" | "percentage";

/**
 * Reads a unit value as written: a number in bytes, milliseconds or a
 * fraction; a `UnitError` when the text is not a valid value of its kind;
 * undefined when it has the wrong type altogether (the schema reports that).
 */
export function readValue(kind: ValueKind, value: unknown): number | UnitError | undefined {
  switch (kind) {
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? value : undefined;
    case "fraction":
      if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
      return typeof value === "string" ? unwrap(tryParsePercentage(value)) : undefined;
    case "percentage":
      return typeof value === "string" ? unwrap(tryParsePercentage(value)) : undefined;
    case "duration":
      return typeof value === "string" ? unwrap(tryParseDuration(value)) : undefined;
    case "size":
      return typeof value === "string" ? unwrap(tryParseSize(value)) : undefined;
  }
}

function unwrap(result: { ok: true; value: number } | { ok: false; error: UnitError }): number | UnitError {
  return result.ok ? result.value : result.error;
}
