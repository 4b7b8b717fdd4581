/**
 * MLPerf-style run rules: `warmup` untimed iterations, then timed iterations
 * until at least `minIterations` have run AND at least `minDurationMs` of
 * wall time has passed since the first timed iteration began.
 */

export interface RunRules {
  /** Iterations run first and discarded. */
  readonly warmup: number;
  /** Timed iterations: at least this many. */
  readonly minIterations: number;
  /** Timed iterations continue until at least this much wall time (ms) has passed. */
  readonly minDurationMs: number;
  /**
   * A safety cap on timed iterations for very fast models, so a long
   * `minDurationMs` cannot produce an unbounded sample set; the report says
   * when it stopped a run.
   */
  readonly maxIterations: number;
}

export interface RunOutcome {
  readonly warmup: number;
  readonly iterations: number;
  /** Wall time from the start of the first timed iteration to the end of the last. */
  readonly elapsedMs: number;
  /** `rules` when both minimums were met; `max-iterations` when the cap ended the run first. */
  readonly stoppedBy: "rules" | "max-iterations";
}

export type Iteration = (index: number, timed: boolean) => Promise<void>;

export function validateRunRules(rules: RunRules): void {
  const check = (name: string, value: number, min: number) => {
    if (!Number.isInteger(value) && !(name === "minDurationMs" && Number.isFinite(value))) {
      throw new RangeError(`${name} must be a whole number, got ${value}`);
    }
    if (value < min) throw new RangeError(`${name} must be at least ${min}, got ${value}`);
  };
  check("warmup", rules.warmup, 0);
  check("minIterations", rules.minIterations, 1);
  check("minDurationMs", rules.minDurationMs, 0);
  check("maxIterations", rules.maxIterations, rules.minIterations);
}

/** Runs `iteration` under the rules; `onIteration` is told after each timed one. */
export async function runUnderRules(
  rules: RunRules,
  iteration: Iteration,
  onIteration?: (done: number, elapsedMs: number) => void,
): Promise<RunOutcome> {
  validateRunRules(rules);
  for (let i = 0; i < rules.warmup; i++) await iteration(i, false);
  const start = performance.now();
  let iterations = 0;
  let elapsedMs = 0;
  while (iterations < rules.minIterations || elapsedMs < rules.minDurationMs) {
    if (iterations >= rules.maxIterations) {
      return { warmup: rules.warmup, iterations, elapsedMs, stoppedBy: "max-iterations" };
    }
    await iteration(iterations, true);
    iterations++;
    elapsedMs = performance.now() - start;
    onIteration?.(iterations, elapsedMs);
  }
  return { warmup: rules.warmup, iterations, elapsedMs, stoppedBy: "rules" };
}
