/**
 * Parse and format the units people write in slmops files and flags: sizes
 * (`512MiB`, `1.5GB`), durations (`40ms`, `1m30s`, `24h`) and percentages
 * (`5%`). Parsers return plain numbers — bytes, milliseconds, fractions — and
 * explain a mistake with a `UnitError` whose `hint` says how to write it.
 */
export { UnitError, type UnitKind, type UnitResult } from "./errors.js";
export { formatSize, parseSize, SIZE_PATTERN, SIZE_UNITS, tryParseSize } from "./size.js";
export { DURATION_PATTERN, DURATION_UNITS, formatDuration, parseDuration, tryParseDuration } from "./duration.js";
export { formatPercentage, parsePercentage, PERCENTAGE_PATTERN, tryParsePercentage } from "./percentage.js";
