/** Messages between the harness and a benchmark worker process (over Node's IPC channel). */
import type { Measurement, MeasureJob, MeasureProgress, ReferenceJob } from "./measure.js";

export type WorkerRequest = { readonly type: "measure"; readonly job: MeasureJob } | { readonly type: "reference"; readonly job: ReferenceJob };

export type WorkerReply =
  | { readonly type: "progress"; readonly progress: MeasureProgress }
  | { readonly type: "measured"; readonly measurement: Measurement }
  | { readonly type: "reference-written" }
  | { readonly type: "failed"; readonly kind: "error" | "configuration"; readonly message: string };
