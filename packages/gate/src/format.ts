/** Metric values as people read them: `41.2 ms`, `512 MiB`, `93.1%`, `18.4 tokens/s`. */
import { formatSize } from "@slmops/units";
import { isMetricName, METRICS } from "./metrics.js";

function round(value: number, digits: number): string {
  return Number(value.toPrecision(digits)).toString();
}

/** A metric's value in its natural unit. */
export function formatMetricValue(metric: string, value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (!isMetricName(metric)) return round(value, 4);
  switch (METRICS[metric].unit) {
    case "ms":
      return value >= 1000 ? `${round(value / 1000, 3)} s` : `${round(value, 3)} ms`;
    case "bytes":
      return formatSize(value);
    case "tokens/s":
      return `${round(value, 3)} tokens/s`;
    case "fraction":
      return `${round(value * 100, 3)}%`;
    case "nats":
      return round(value, 3);
    case "number":
      return round(value, 4);
  }
}

/** A relative change as `+4.2%` / `−3.0%`. */
export function formatChange(change: number): string {
  if (!Number.isFinite(change)) return Number.isNaN(change) ? "n/a" : "+∞";
  const p = change * 100;
  const digits = Math.abs(p) >= 100 ? 0 : Math.abs(p) >= 10 ? 1 : 2;
  return `${p >= 0 ? "+" : "−"}${Math.abs(p).toFixed(digits)}%`;
}
