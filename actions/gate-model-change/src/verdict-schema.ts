/**
 * JSON Schema of `slmops-verdict.json`: the shape of `@slmops/gate`'s
 * `Verdict` with every string, list and map bounded, so a file from an
 * untrusted run cannot carry more than a verdict would.
 */

const text = (max = 4000) => ({ type: "string", maxLength: max }) as const;
const id = { type: "string", minLength: 1, maxLength: 200 } as const;
const outcome = { enum: ["pass", "fail", "inconclusive"] } as const;
const count = { type: "integer", minimum: 0, maximum: 1_000_000 } as const;
const numberOrNull = { type: ["number", "null"] } as const;

const metrics = {
  type: "object",
  maxProperties: 100,
  propertyNames: { pattern: "^[a-z0-9][a-z0-9-]{0,63}$" },
  additionalProperties: numberOrNull,
} as const;

/** A place in the repository: a relative path without `..`, and a line. */
const location = {
  type: "object",
  additionalProperties: false,
  required: ["file", "line", "column"],
  properties: {
    file: { type: "string", minLength: 1, maxLength: 500, pattern: "^(?![/\\\\])(?!.*(^|/)\\.\\.(/|$))[^\\\\:\\u0000]+$" },
    line: { type: "integer", minimum: 1, maximum: 10_000_000 },
    column: { type: "integer", minimum: 0, maximum: 100_000 },
  },
} as const;

const limit = {
  type: "object",
  additionalProperties: false,
  required: ["metric", "outcome", "limit", "message"],
  properties: {
    metric: id,
    outcome: { enum: ["pass", "fail"] },
    value: { type: "number" },
    limit: { type: "object", additionalProperties: false, properties: { max: { type: "number" }, min: { type: "number" } } },
    message: text(),
  },
} as const;

const regression = {
  type: "object",
  additionalProperties: false,
  required: ["outcome", "metric", "method", "direction", "allowed", "confidence", "change", "lower", "upper", "baselineValue", "candidateValue", "baselineCount", "candidateCount", "message"],
  properties: {
    outcome,
    metric: id,
    method: { enum: ["bootstrap", "exact"] },
    direction: { enum: ["lower-is-better", "higher-is-better"] },
    allowed: numberOrNull,
    confidence: numberOrNull,
    change: numberOrNull,
    lower: numberOrNull,
    upper: numberOrNull,
    baselineValue: numberOrNull,
    candidateValue: numberOrNull,
    baselineCount: count,
    candidateCount: count,
    message: text(),
    advice: text(),
  },
} as const;

const check = {
  type: "object",
  additionalProperties: false,
  required: ["gate", "device", "variant", "kind", "outcome", "message"],
  properties: {
    gate: id,
    device: id,
    variant: id,
    kind: { enum: ["reported", "limit", "regression"] },
    metric: id,
    outcome,
    message: text(),
    advice: text(),
    location,
    limit,
    regression,
  },
} as const;

const pair = { type: "object", additionalProperties: false, required: ["device", "variant"], properties: { device: id, variant: id } } as const;

const outcomeCounts = { type: "object", additionalProperties: false, required: ["pass", "fail", "inconclusive"], properties: { pass: count, fail: count, inconclusive: count } } as const;
const requirement = text(200);

/** Per device: which gates applied, which did not and why. */
const deviceGates = {
  type: "object",
  additionalProperties: false,
  required: ["device", "gates", "requirements", "counts"],
  properties: {
    device: id,
    gates: {
      type: "array",
      maxItems: 500,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["gate", "requirements", "applied", "variants"],
        properties: {
          gate: text(500),
          ref: text(100),
          requirements: { type: "array", maxItems: 100, items: requirement },
          applied: { type: "boolean" },
          variants: { type: "array", maxItems: 2000, items: id },
          reason: text(2000),
          skipped: { type: "array", maxItems: 100, items: requirement },
          location,
        },
      },
    },
    requirements: { type: "object", additionalProperties: false, required: ["applied", "total"], properties: { applied: count, total: count } },
    counts: outcomeCounts,
  },
} as const;

const verdict = {
  type: "object",
  additionalProperties: false,
  required: ["outcome", "devices", "pairs", "checks", "baseline", "counts", "unplanned"],
  properties: {
    outcome,
    devices: { type: "array", maxItems: 2000, items: deviceGates },
    pairs: {
      type: "array",
      maxItems: 2000,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["device", "variant", "reported", "outcome", "metrics", "checks"],
        properties: {
          device: id,
          variant: id,
          reported: { type: "boolean" },
          outcome,
          metrics,
          baselineMetrics: metrics,
          checks: { type: "array", maxItems: 200, items: check },
        },
      },
    },
    checks: { type: "array", maxItems: 20_000, items: check },
    baseline: {
      oneOf: [
        { type: "object", additionalProperties: false, required: ["status", "source"], properties: { status: { const: "found" }, source: text(500) } },
        { type: "object", additionalProperties: false, required: ["status", "reason"], properties: { status: { const: "missing" }, reason: text(2000), noneYet: { const: true } } },
      ],
    },
    counts: outcomeCounts,
    unplanned: {
      type: "array",
      maxItems: 2000,
      items: { ...pair, properties: { ...pair.properties, reason: { enum: ["not-planned", "unknown-device", "unknown-variant"] } } },
    },
  },
} as const;

export const VERDICT_FILE_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["format", "version", "repository", "pullRequest", "headSha", "verdict"],
  properties: {
    format: { const: "slmops-gate-verdict" },
    version: { const: 1 },
    repository: { type: "string", pattern: "^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$" },
    pullRequest: { oneOf: [{ type: "integer", minimum: 1, maximum: 2_147_483_647 }, { type: "null" }] },
    headSha: { type: "string", pattern: "^[0-9a-f]{40}([0-9a-f]{24})?$" },
    verdict,
  },
} as const;
