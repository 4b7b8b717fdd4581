/** Messages between the action and its benchmark runner process. */
import type { BenchJob } from "@slmops/device-plan";

/** What the action asks the runner to do. */
export interface RunnerRequest {
  readonly type: "bench";
  readonly job: BenchJob;
  /** Where to write the report (absolute). */
  readonly reportPath: string;
  /** Where reference distributions are kept (absolute). */
  readonly referenceDir: string;
}

export type RunnerReply =
  | { readonly type: "progress"; readonly line: string }
  | { readonly type: "done"; readonly total: number; readonly failed: number }
  | { readonly type: "error"; readonly configuration: boolean; readonly message: string };
